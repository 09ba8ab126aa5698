# Incremental storage checkpoints (written ranges) and files changed
# outside the group ([storage] on_external_change), issue 5.
ckpt_engine_program(files_appender files_appender.c)
add_test(NAME engine.files.incremental_ranges
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/storage_ranges_test.sh ${engine_bin}
                 $<TARGET_FILE:ckpt_engine_files_appender>)
set_tests_properties(engine.files.incremental_ranges PROPERTIES LABELS engine TIMEOUT 180)
foreach(action rollback keep refuse)
  add_test(NAME engine.files.external_change.${action}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/external_change_test.sh ${engine_bin} ${action})
  set_tests_properties(engine.files.external_change.${action} PROPERTIES LABELS engine TIMEOUT 120)
endforeach()

# A file written only by processes that exit between two checkpoints
# (/bin/echo >> log in a loop): their registrations reach the coordinator
# as reports, so the file is saved and rolled back.
add_test(NAME engine.files.short_lived_writers
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/short_lived_writers_test.sh ${engine_bin})
set_tests_properties(engine.files.short_lived_writers PROPERTIES LABELS engine TIMEOUT 120)
