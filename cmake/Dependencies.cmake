# All dependencies come from Debian 12 packages (see test.sh / demo.sh).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
# Serial HDF5 on purpose: with both variants installed FindHDF5 picks the
# serial one unless HDF5_PREFER_PARALLEL is ON (docs/architecture.md).
set(HDF5_PREFER_PARALLEL OFF)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(tomlplusplus 3 REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
find_package(zstd REQUIRED)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
if(CKPT_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()

add_library(ckpt_hdf5 INTERFACE)
target_include_directories(ckpt_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
target_link_libraries(ckpt_hdf5 INTERFACE ${HDF5_C_LIBRARIES} ${HDF5_LIBRARIES})
target_compile_definitions(ckpt_hdf5 INTERFACE ${HDF5_DEFINITIONS} H5_USE_110_API)

add_library(ckpt_zstd INTERFACE)
target_link_libraries(ckpt_zstd INTERFACE zstd::libzstd_shared)
