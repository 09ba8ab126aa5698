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
