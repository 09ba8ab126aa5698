# Incremental checkpoints (issue 6): the dirty-page engines chosen by
# [checkpoint] dirty_tracking. For each engine and program, chain_test.sh
# takes 6 checkpoints spread over the first ~12 rounds of the program's 36
# (150 ms each; the rest is slack for checkpoints slowed down by a loaded
# machine, and a restarted program catches up at once) with incremental_depth = 8, checks
# with ckpt-inspect --json that the chain is 1 full + at least 5
# incremental generations that all record the engine, SIGKILLs, restarts
# the unmerged chain and compares stdout with an uninterrupted run byte for
# byte (README.md, "Incremental chains"). The programs are added in
# CMakeLists.txt.

set(engine_chain ${CMAKE_CURRENT_SOURCE_DIR}/chain_test.sh)

# ckpt_engine_chain_test(NAME [TIMEOUT s] [LABELS ...] DRIVER options... COMMAND program args...)
function(ckpt_engine_chain_test name)
  cmake_parse_arguments(arg "" "TIMEOUT" "LABELS;DRIVER;COMMAND" ${ARGN})
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 120)
  endif()
  add_test(NAME engine.incremental.${name}
           COMMAND bash ${engine_chain} --bin ${engine_bin} ${arg_DRIVER} -- ${arg_COMMAND})
  set_tests_properties(engine.incremental.${name} PROPERTIES
                       LABELS "engine;incremental;${arg_LABELS}" TIMEOUT ${arg_TIMEOUT})
endfunction()

foreach(engine hash uffd-wp mprotect)
  # 5% of a 32 MiB buffer and of a heap area per 150 ms round (random
  # data): every incremental must be under half the full generation (an
  # engine that saves the whole buffer exceeds it). Typically 10-25%; up to
  # ~35% seen on a loaded machine, where one checkpoint takes ~0.8 s and
  # lets ~6 rounds pass before the next.
  ckpt_engine_chain_test(${engine}.dirty_rounds
                         DRIVER --engine ${engine} --last-progress 12 --max-incremental-fraction 0.5
                         COMMAND $<TARGET_FILE:ckpt_engine_dirty_rounds> 32 36)
  # mmap/munmap/mremap/mprotect/MADV_DONTNEED/MAP_FIXED between rounds;
  # also folded by ckpt-merge: the merged copy and the chain both restart
  ckpt_engine_chain_test(${engine}.dirty_mappings.merge
                         DRIVER --engine ${engine} --last-progress 14 --merge
                         COMMAND $<TARGET_FILE:ckpt_engine_dirty_mappings> 36)
  # read/pread/readv/recv/recvfrom/recvmsg/fread into buffers written before
  ckpt_engine_chain_test(${engine}.dirty_syscalls
                         DRIVER --engine ${engine} --last-progress 12
                         COMMAND $<TARGET_FILE:ckpt_engine_dirty_syscalls> @WORKDIR@ 36)
  # the application's own SIGSEGV handler and faults
  ckpt_engine_chain_test(${engine}.own_segv
                         DRIVER --engine ${engine} --last-progress 12
                         COMMAND $<TARGET_FILE:ckpt_engine_own_segv> 36)
endforeach()

# "auto" picks uffd-wp on the test machines (Linux >= 6.7: userfaultfd
# write-protection with UFFD_USER_MODE_ONLY, the PAGEMAP_SCAN ioctl). On a
# machine without them this test fails by design: change the expectation.
ckpt_engine_chain_test(auto_picks_uffd-wp.dirty_rounds
                       DRIVER --engine auto --expect-engine uffd-wp --last-progress 12
                       COMMAND $<TARGET_FILE:ckpt_engine_dirty_rounds> 32 36)

# The test machines' kernel has no soft-dirty bits (CONFIG_MEM_SOFT_DIRTY
# off): ckpt-launch refuses the policy with one line naming soft-dirty, and
# runs nothing (the echo would add a second line of output).
add_test(NAME engine.incremental.soft-dirty_refused
         COMMAND bash ${engine_error} --status nonzero --match "ckpt-launch: .*soft-dirty"
                 -- ${engine_bin}/ckpt-launch --policy ${CMAKE_CURRENT_SOURCE_DIR}/policies/soft_dirty.toml
                    --image @WORKDIR@/app.h5 -- /bin/echo the program ran)
set_tests_properties(engine.incremental.soft-dirty_refused PROPERTIES LABELS "engine;incremental" TIMEOUT 60)

# 4 GiB with ~52 000 scattered dirty pages per round (vm.max_map_count is
# 65530): the runtime engines must not run out of mappings. The full
# generation alone reads 4 GiB through /proc/PID/mem (6-18 s on the test
# machines, after 4-30 s of populating), so 30 rounds of 1.5 s. ~50 s each
# on an idle machine (up to ~100 s loaded) and 2 x 4 GiB of RAM (the two
# runs go side by side): label "huge" (ctest -LE huge leaves them out).
foreach(engine mprotect uffd-wp)
  ckpt_engine_chain_test(${engine}.dirty_huge TIMEOUT 420 LABELS huge
                         DRIVER --engine ${engine} --checkpoints 3 --min-incrementals 2 --last-progress 5
                                --stage-timeout 120
                         COMMAND $<TARGET_FILE:ckpt_engine_dirty_huge> 4 30 1500)
endforeach()

# after_chain = "merge": depth 2 and 6 checkpoints: chains are folded in the
# background, so no checkpoint after the first is a full one; the chain that
# is restarted starts at a merged full generation.
ckpt_engine_chain_test(uffd-wp.after_chain_merge
                       DRIVER --engine uffd-wp --depth 2 --min-incrementals 1 --after-chain-merge --last-progress 12
                       COMMAND $<TARGET_FILE:ckpt_engine_dirty_rounds> 32 36)
