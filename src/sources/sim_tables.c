/* The simulator's fixed vocabulary: countries with their skew, acquisition
 * channels, categories, names, user agents. Changing a table changes every
 * seed's output, so append rather than edit. */
#include "sim_internal.h"

const sim_country sim_countries[] = {
    {"US", "en-US", "America/New_York", 0.31},    {"GB", "en-GB", "Europe/London", 0.11},
    {"DE", "de-DE", "Europe/Berlin", 0.10},       {"FR", "fr-FR", "Europe/Paris", 0.07},
    {"CA", "en-CA", "America/Toronto", 0.05},     {"NL", "nl-NL", "Europe/Amsterdam", 0.04},
    {"ES", "es-ES", "Europe/Madrid", 0.04},       {"IT", "it-IT", "Europe/Rome", 0.04},
    {"AU", "en-AU", "Australia/Sydney", 0.04},    {"SE", "sv-SE", "Europe/Stockholm", 0.03},
    {"PL", "pl-PL", "Europe/Warsaw", 0.03},       {"BR", "pt-BR", "America/Sao_Paulo", 0.03},
    {"IN", "en-IN", "Asia/Kolkata", 0.03},        {"JP", "ja-JP", "Asia/Tokyo", 0.025},
    {"MX", "es-MX", "America/Mexico_City", 0.02}, {"IE", "en-IE", "Europe/Dublin", 0.015},
    {"DK", "da-DK", "Europe/Copenhagen", 0.015},  {"NO", "nb-NO", "Europe/Oslo", 0.01},
    {"CH", "de-CH", "Europe/Zurich", 0.01},       {"NZ", "en-NZ", "Pacific/Auckland", 0.01},
};
const int sim_n_countries = sizeof(sim_countries) / sizeof(sim_countries[0]);

const sim_source sim_sources[] = {
    {"google", "cpc", "brand_search", "https://www.google.com/", 0.18},
    {"google", "organic", "", "https://www.google.com/", 0.22},
    {"facebook", "paid_social", "autumn_sale", "https://www.facebook.com/", 0.12},
    {"instagram", "social", "influencer_q4", "https://www.instagram.com/", 0.08},
    {"newsletter", "email", "weekly_digest", "", 0.10},
    {"bing", "cpc", "generic_search", "https://www.bing.com/", 0.04},
    {"tiktok", "paid_social", "viral_video", "https://www.tiktok.com/", 0.06},
    {"affiliate", "referral", "partner_blog", "https://www.dealblog.example/", 0.05},
    {"(direct)", "(none)", "", "", 0.15},
};
const int sim_n_sources = sizeof(sim_sources) / sizeof(sim_sources[0]);

const char *const sim_categories[] = {"Electronics", "Clothing", "Home & Kitchen", "Beauty",
                                      "Sports",      "Books",    "Toys",           "Grocery",
                                      "Garden",      "Shoes"};
const int sim_n_categories = 10;

/* First and last names: display form, then an ASCII form for e-mail addresses. */
const char *const sim_first_names[] = {
    "James",  "james",  "Mary",   "mary",   "Olivia", "olivia",   "Liam",     "liam",  "Emma",
    "emma",   "Noah",   "noah",   "Sophia", "sophia", "Lucas",    "lucas",    "Mia",   "mia",
    "José",   "jose",   "Zoë",    "zoe",    "Søren",  "soren",    "Ana",      "ana",   "Hiro",
    "hiro",   "Priya",  "priya",  "Léa",    "lea",    "Mateo",    "mateo",    "Chloe", "chloe",
    "Ethan",  "ethan",  "Amelia", "amelia", "Jonas",  "jonas",    "Elif",     "elif",  "Oliver",
    "oliver", "Ava",    "ava",    "Björn",  "bjorn",  "Isabella", "isabella", "Kenji", "kenji",
    "Fatima", "fatima", "Hugo",   "hugo",   "Nora",   "nora",
};
const char *const sim_last_names[] = {
    "Smith",    "smith",    "Johnson",   "johnson",   "Müller",   "muller",  "García",  "garcia",
    "Brown",    "brown",    "Martin",    "martin",    "Rossi",    "rossi",   "Tanaka",  "tanaka",
    "Kowalski", "kowalski", "Jensen",    "jensen",    "Dubois",   "dubois",  "Silva",   "silva",
    "Nguyen",   "nguyen",   "Patel",     "patel",     "O'Brien",  "obrien",  "Schmidt", "schmidt",
    "López",    "lopez",    "Andersson", "andersson", "Wilson",   "wilson",  "Fischer", "fischer",
    "Taylor",   "taylor",   "Moreau",    "moreau",    "Kim",      "kim",     "Novak",   "novak",
    "Haddad",   "haddad",   "Walker",    "walker",    "de Vries", "devries", "Costa",   "costa",
};

const char *const sim_email_domains[] = {"gmail.com",  "yahoo.com",    "hotmail.com", "outlook.com",
                                         "icloud.com", "gmx.de",       "orange.fr",   "proton.me",
                                         "web.de",     "acme-corp.com"};

const char *const sim_adjectives[] = {"Classic", "Ultra",  "Eco",   "Smart",  "Vintage", "Pro",
                                      "Compact", "Deluxe", "Urban", "Nordic", "Soft",    "Rapid",
                                      "Bold",    "Pure",   "Wild",  "Prime"};
const char *const sim_nouns[] = {
    "Backpack", "Headphones", "Sneakers", "Lamp",     "Blender", "Jacket",  "Serum",  "Novel",
    "Puzzle",   "Kettle",     "Watch",    "Yoga Mat", "Planter", "Speaker", "Hoodie", "Tea Set"};

static const char *const desktop_agents[] = {
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.6 Safari/605.1.15"),
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 "
     "Safari/537.36"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"),
};
static const char *const mobile_agents[] = {
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.6 Mobile/15E148 Safari/604.1"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36"),
    ("Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"),
};
static const char *const tablet_agents[] = {
    ("Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.6 Mobile/15E148 Safari/604.1"),
    ("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36"),
};
const char *const sim_bot_agents[] = {
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "python-requests/2.31.0",
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "HeadlessChrome/120.0.0.0 "
     "Safari/537.36"),
};
const int sim_n_bot_agents = 6;

const char *sim_user_agent(int device_kind, uint32_t variant)
{
    switch (device_kind) {
    case DEV_MOBILE:
        return mobile_agents[variant % 3];
    case DEV_TABLET:
        return tablet_agents[variant % 2];
    default:
        return desktop_agents[variant % 5];
    }
}
