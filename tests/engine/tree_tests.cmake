# Process trees (issue 4): fork/exec, pipes and socketpairs between the
# processes of a group, sessions and process groups, zombies, and real
# multi-process workloads (a shell pipeline, make -j2, a Python
# multiprocessing pool). Included at the end of tests/engine/CMakeLists.txt,
# so ckpt_engine_program(), ckpt_engine_cr_test() and CKPT_ENGINE_PYTHON3
# come from there. Each program is described in tests/engine/README.md
# ("Process trees") and in its header comment.

ckpt_engine_program(tree_pipe_worker tree_pipe_worker.c)
ckpt_engine_program(tree_three_levels tree_three_levels.c)
ckpt_engine_program(tree_session tree_session.c)
ckpt_engine_program(tree_socketpair tree_socketpair.c)
ckpt_engine_program(tree_fork_storm tree_fork_storm.c)
ckpt_engine_program(shared_between shared_between.c)
# not a test: the 16-process tree of bench/engine_tree.sh
ckpt_engine_program(tree_memhog tree_memhog.c)

set(engine_tree_programs ${CMAKE_CURRENT_SOURCE_DIR}/programs)

# fork + execv of itself, two pipes with requests/replies in flight
ckpt_engine_cr_test(tree.pipe_worker DRIVER --checkpoints 2
                    COMMAND $<TARGET_FILE:ckpt_engine_tree_pipe_worker>)
ckpt_engine_cr_test(tree.pipe_worker.restart_twice DRIVER --checkpoints 1 --restart-twice
                    COMMAND $<TARGET_FILE:ckpt_engine_tree_pipe_worker>)
# three generations, zombies held across checkpoints, a shared report pipe
ckpt_engine_cr_test(tree.three_levels DRIVER --checkpoints 2
                    COMMAND $<TARGET_FILE:ckpt_engine_tree_three_levels>)
ckpt_engine_cr_test(tree.three_levels.side_by_side DRIVER --checkpoints 1 --side-by-side
                    COMMAND $<TARGET_FILE:ckpt_engine_tree_three_levels>)
# setsid, setpgid, kill(-pgid) with a handshake
ckpt_engine_cr_test(tree.session DRIVER --checkpoints 2
                    COMMAND $<TARGET_FILE:ckpt_engine_tree_session>)
# AF_UNIX socketpairs: stream and datagram
ckpt_engine_cr_test(tree.socketpair DRIVER --checkpoints 2
                    COMMAND $<TARGET_FILE:ckpt_engine_tree_socketpair> stream)
ckpt_engine_cr_test(tree.socketpair.dgram DRIVER --checkpoints 2
                    COMMAND $<TARGET_FILE:ckpt_engine_tree_socketpair> dgram)
# 600 short-lived children
ckpt_engine_cr_test(tree.fork_storm DRIVER --checkpoints 3
                    COMMAND $<TARGET_FILE:ckpt_engine_tree_fork_storm>)
# memory shared by a parent and 3 children (anonymous, /dev/shm, memfd
# mapped twice): still shared after the restart
ckpt_engine_cr_test(tree.shared_memory DRIVER --checkpoints 2
                    COMMAND $<TARGET_FILE:ckpt_engine_shared_between>)
ckpt_engine_cr_test(tree.shared_memory.restart_twice DRIVER --checkpoints 1 --restart-twice
                    COMMAND $<TARGET_FILE:ckpt_engine_shared_between>)

# Shell payloads run as `bash SCRIPT ARGS` (the system bash, also the one
# the unprivileged test user can run).
find_program(CKPT_ENGINE_BASH bash PATHS /usr/bin /bin NO_DEFAULT_PATH)
if(CKPT_ENGINE_BASH)
  # producer | awk | sort -n | awk
  ckpt_engine_cr_test(tree.pipeline DRIVER --checkpoints 2
                      COMMAND ${CKPT_ENGINE_BASH} ${engine_tree_programs}/tree_pipeline.sh)
  # make -j2 of ~180 generated programs in the run's scratch folder; not
  # --side-by-side: both restarts would build in the same folder
  find_program(CKPT_ENGINE_MAKE make PATHS /usr/bin /bin NO_DEFAULT_PATH)
  find_program(CKPT_ENGINE_CC cc PATHS /usr/bin /bin NO_DEFAULT_PATH)
  find_program(CKPT_ENGINE_AR ar PATHS /usr/bin /bin NO_DEFAULT_PATH)
  if(CKPT_ENGINE_MAKE AND CKPT_ENGINE_CC AND CKPT_ENGINE_AR)
    ckpt_engine_cr_test(tree.make TIMEOUT 150 DRIVER --checkpoints 2
                        COMMAND ${CKPT_ENGINE_BASH} ${engine_tree_programs}/tree_make.sh @WORKDIR@)
  else()
    message(WARNING "make, cc or ar missing in /usr/bin: engine.cr.tree.make not registered")
  endif()
else()
  message(WARNING "bash missing in /usr/bin and /bin: engine.cr.tree.pipeline and tree.make not registered")
endif()

# multiprocessing.Pool(2)
if(CKPT_ENGINE_PYTHON3)
  ckpt_engine_cr_test(tree.pool DRIVER --checkpoints 2
                      COMMAND ${CKPT_ENGINE_PYTHON3} ${engine_tree_programs}/tree_pool.py)
else()
  message(WARNING "python3 missing: engine.cr.tree.pool not registered")
endif()
