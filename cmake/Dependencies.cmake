# Finds the libraries scripts/setup installs; fails with a message naming it.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: run scripts/setup (or 'make check', which runs it)")
endif()

function(cp_require_pkg name module)
  pkg_check_modules(${name} IMPORTED_TARGET ${module})
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "${module} not found: run scripts/setup to install the build dependencies")
  endif()
endfunction()

cp_require_pkg(YAML yaml-0.1)
cp_require_pkg(ZSTD libzstd)
cp_require_pkg(XXHASH libxxhash)
cp_require_pkg(ZLIB zlib)
cp_require_pkg(CURL libcurl)
cp_require_pkg(MHD libmicrohttpd)
cp_require_pkg(RDKAFKA rdkafka)
cp_require_pkg(PQ libpq)
cp_require_pkg(CRYPT libxcrypt)
cp_require_pkg(ROCKSDB rocksdb)

# DuckDB's C API comes from npm (DESIGN.md section 11), installed into .deps/duckdb.
set(CP_DUCKDB_DIR "${CMAKE_SOURCE_DIR}/.deps/duckdb" CACHE PATH "DuckDB C API (header + libduckdb.so)")
if(NOT EXISTS "${CP_DUCKDB_DIR}/include/duckdb.h" OR NOT EXISTS "${CP_DUCKDB_DIR}/lib/libduckdb.so")
  message(FATAL_ERROR "DuckDB C API not found in ${CP_DUCKDB_DIR}: run scripts/setup")
endif()
add_library(duckdb SHARED IMPORTED GLOBAL)
set_target_properties(duckdb PROPERTIES
  IMPORTED_LOCATION "${CP_DUCKDB_DIR}/lib/libduckdb.so"
  INTERFACE_INCLUDE_DIRECTORIES "${CP_DUCKDB_DIR}/include")
# Binaries find libduckdb.so through their rpath, with no environment variables.
set(CMAKE_BUILD_RPATH "${CP_DUCKDB_DIR}/lib")
set(CMAKE_INSTALL_RPATH "${CP_DUCKDB_DIR}/lib")
