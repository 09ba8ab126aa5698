# Storage checkpoint (issue 5): files roll back with memory. Each program
# prints the final state of its files; cr_test.sh compares that with an
# uninterrupted run, so a file that kept what the killed run wrote after
# its checkpoint fails the test.
ckpt_engine_program(files_writer files_writer.c)
ckpt_engine_cr_test(files.writer DRIVER --checkpoints 2
                    COMMAND $<TARGET_FILE:ckpt_engine_files_writer> @WORKDIR@/files)
ckpt_engine_cr_test(files.writer.restart_twice DRIVER --checkpoints 1 --restart-twice
                    COMMAND $<TARGET_FILE:ckpt_engine_files_writer> @WORKDIR@/files)
if(CKPT_ENGINE_PYTHON3)
  ckpt_engine_cr_test(files.sqlite DRIVER --checkpoints 2
                      COMMAND ${CKPT_ENGINE_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/programs/files_sqlite.py
                              @WORKDIR@/db)
endif()

# An output folder in [storage] include (the policy, with @WORKDIR@ replaced
# by cr_test.sh): files created after the checkpoint are removed at the
# restart, files deleted after it come back.
ckpt_engine_cr_test(files.folder DRIVER --checkpoints 2
                    --policy ${CMAKE_CURRENT_SOURCE_DIR}/policies/files_folder.toml
                    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/programs/files_folder.sh @WORKDIR@)

# Everyday programs: gzip | dd writing a 70 MiB output of a 200 MiB input.
ckpt_engine_cr_test(files.gzip TIMEOUT 120 DRIVER --checkpoints 2
                    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/programs/files_gzip.sh @WORKDIR@/gzip)

# 4 threads in tight loops of file operations, checking their files against
# their memory, under a checkpoint every 20 ms; then SIGKILL and restart.
ckpt_engine_program(files_pressure files_pressure.c)
add_test(NAME engine.files.pressure_storm
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/files_pressure_test.sh ${engine_bin}
                 $<TARGET_FILE:ckpt_engine_files_pressure>)
set_tests_properties(engine.files.pressure_storm PROPERTIES LABELS engine TIMEOUT 120)
