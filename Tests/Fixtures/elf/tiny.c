/* A small program whose symbol table the ELF reader is tested on (built with `make -C` this folder). */
unsigned long thread_count = 4;
struct thread_ctx { unsigned long regs[3]; int state; } threads_table[4];

int tiny_entry(int a) { return a + (int)thread_count; }
void _start(void) { threads_table[0].state = tiny_entry(1); for (;;) {} }
