#pragma once
// Thread stacks in small pages. Where transparent huge pages are "always"
// (the default of Debian 12's kernel), a fault in a 2 MiB-aligned block
// that lies wholly inside a thread's stack mapping gets a whole 2 MiB page:
// a thread that uses 20 KiB of stack then holds 2 MiB. Measured in the
// nested KVM host (Debian 12's kernel): one of kvmm's three 8 MiB thread
// stacks held a huge page, 2 MiB of the VMM's 7.3 MiB beyond guest RAM.
//
// Threads: set_default_thread_stack() on the main thread before any other
// thread exists; keep_stack_in_small_pages() by each thread for itself.

namespace kvmm {

// glibc's default stack size for threads created from now on: 8 MiB less
// 64 KiB. Not a multiple of 2 MiB, so the kernel does not align the mapping
// to a huge page boundary, and the top of the stack, which glibc writes
// while it creates the thread, is never in a whole aligned 2 MiB block.
void set_default_thread_stack();

// madvise(MADV_NOHUGEPAGE) over the calling thread's stack, for the faults
// still to come as it grows; a no-op where the stack cannot be found.
void keep_stack_in_small_pages();

}  // namespace kvmm
