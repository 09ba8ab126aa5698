/* Saving and resuming a parked thread's callee-saved context (x86-64),
 * like setjmp/longjmp without signal masks or pointer mangling, and a
 * clone3 that starts the child directly in a saved context.
 *
 *   int ckpt_save_context(CkptContext *context);        returns 0; later 1
 *   void ckpt_resume_context(const CkptContext *context) noreturn
 *   long ckpt_clone3_resume(struct clone_args *args, unsigned long size,
 *                           const CkptContext *context)
 *       parent: returns the child's TID (or -errno);
 *       child: resumes `context` (ckpt_save_context returns 1 there).
 *
 * CkptContext layout: rbx 0, rbp 8, r12 16, r13 24, r14 32, r15 40,
 * rsp 48, rip 56. */
        .text
        .globl ckpt_save_context
        .hidden ckpt_save_context
        .type ckpt_save_context,@function
ckpt_save_context:
        movq %rbx, 0(%rdi)
        movq %rbp, 8(%rdi)
        movq %r12, 16(%rdi)
        movq %r13, 24(%rdi)
        movq %r14, 32(%rdi)
        movq %r15, 40(%rdi)
        leaq 8(%rsp), %rdx          /* caller's rsp after our return */
        movq %rdx, 48(%rdi)
        movq (%rsp), %rdx           /* return address */
        movq %rdx, 56(%rdi)
        xorl %eax, %eax
        ret
        .size ckpt_save_context,.-ckpt_save_context

        .globl ckpt_resume_context
        .hidden ckpt_resume_context
        .type ckpt_resume_context,@function
ckpt_resume_context:
        movq 0(%rdi), %rbx
        movq 8(%rdi), %rbp
        movq 16(%rdi), %r12
        movq 24(%rdi), %r13
        movq 32(%rdi), %r14
        movq 40(%rdi), %r15
        movq 48(%rdi), %rsp
        movl $1, %eax
        jmpq *56(%rdi)
        .size ckpt_resume_context,.-ckpt_resume_context

        .globl ckpt_clone3_resume
        .hidden ckpt_clone3_resume
        .type ckpt_clone3_resume,@function
ckpt_clone3_resume:
        movq %rdx, %r8              /* context survives in the child's registers */
        movl $435, %eax             /* __NR_clone3 */
        syscall
        testq %rax, %rax
        jnz 1f
        movq %r8, %rdi              /* child: on its scratch stack */
        jmp ckpt_resume_context
1:      ret
        .size ckpt_clone3_resume,.-ckpt_clone3_resume

        .section .note.GNU-stack,"",@progbits
