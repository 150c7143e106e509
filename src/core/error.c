/* Error messages and names for the codes of include/clickpulse/error.h. */
#include "clickpulse/error.h"

const char *cp_strerror(int err)
{
    switch (err) {
    case CP_OK:
        return "ok";
#define CP_ERR_MSG(name, msg)                                                                      \
    case CP_E##name:                                                                               \
        return msg;
        CP_ERRNO_MAP(CP_ERR_MSG)
#undef CP_ERR_MSG
    default:
        return "unknown error";
    }
}

const char *cp_errname(int err)
{
    switch (err) {
    case CP_OK:
        return "CP_OK";
#define CP_ERR_NAME(name, msg)                                                                     \
    case CP_E##name:                                                                               \
        return "CP_E" #name;
        CP_ERRNO_MAP(CP_ERR_NAME)
#undef CP_ERR_NAME
    default:
        return "CP_E?";
    }
}
