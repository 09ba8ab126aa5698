# Several applications in one group (a FIFO between them) and forks during
# a checkpoint storm (issue 4).
add_test(NAME engine.group.fifo_two_applications
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/fifo_group_test.sh ${engine_bin})
add_test(NAME engine.group.checkpoint_storm
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/checkpoint_storm_test.sh ${engine_bin}
                 $<TARGET_FILE:ckpt_engine_tree_fork_storm>)
set_tests_properties(engine.group.fifo_two_applications engine.group.checkpoint_storm
                     PROPERTIES LABELS engine TIMEOUT 120)

# A process that exec()s itself continually under the same storm: the
# quiesce signal must not outlive an exec (QuiesceSignalHeldAcrossExec).
ckpt_engine_program(exec_storm exec_storm.c)
add_test(NAME engine.group.checkpoint_storm.exec
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/checkpoint_storm_test.sh ${engine_bin}
                 $<TARGET_FILE:ckpt_engine_exec_storm>)
set_tests_properties(engine.group.checkpoint_storm.exec PROPERTIES LABELS engine TIMEOUT 120)
