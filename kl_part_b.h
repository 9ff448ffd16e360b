/* fast block decoders, part b (merged into kernels.h later) */

/* add this part's decoders to k for ISA level (1 avx2, 2 avx512) */
static void kl_register_b(kernel_set *k, int level) {
    (void)k; (void)level;
}
