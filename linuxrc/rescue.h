/* SPDX-License-Identifier: MIT */
#ifndef DIM_RESCUE_H
#define DIM_RESCUE_H

/*
 * Run the initramfs's shell on the console and wait until it exits.
 * Returns -ENOENT when the initramfs has no shell, else 0.
 */
int rescue_shell(const char *shell);

/* Reap finished children without waiting (PID 1 inherits every orphan). */
void reap_children(void);

#endif /* DIM_RESCUE_H */
