# Programs started by checkpointed programs (exec, spawn, system) stay
# under the agent; statically linked programs are refused clearly.
ckpt_engine_program(exec_scrubbed exec_scrubbed.c)
ckpt_engine_cr_test(exec_scrubbed DRIVER --checkpoints 2 COMMAND $<TARGET_FILE:ckpt_engine_exec_scrubbed>)

include(CheckCSourceCompiles)
set(CMAKE_REQUIRED_LINK_OPTIONS -static)
check_c_source_compiles("int main(void) { return 0; }" CKPT_CAN_LINK_STATIC)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
if(CKPT_CAN_LINK_STATIC)
  ckpt_engine_program(static_hello static_hello.c)
  target_link_options(ckpt_engine_static_hello PRIVATE -static)
  ckpt_engine_program(exec_static exec_static.c)
  add_test(NAME engine.error.launch_static_program
           COMMAND bash ${engine_error} --status 3 --match "ckpt-launch: cannot run .*static_hello: statically linked"
                   -- ${engine_bin}/ckpt-launch -- $<TARGET_FILE:ckpt_engine_static_hello>)
  add_test(NAME engine.exec.static_refused
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/exec_static_test.sh ${engine_bin}/ckpt-launch
                   $<TARGET_FILE:ckpt_engine_exec_static> $<TARGET_FILE:ckpt_engine_static_hello>)
  set_tests_properties(engine.error.launch_static_program engine.exec.static_refused
                       PROPERTIES LABELS engine TIMEOUT 60)
else()
  message(WARNING "cannot link static programs (libc.a missing): static-program tests not registered")
endif()
