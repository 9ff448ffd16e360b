#!/usr/bin/env python3
"""Writes the loader's seed/regression corpus into tests/data/corpus/ (python3 stdlib only).

any-*.gguf  random byte flips: either outcome, but a failure must set an error;
ok-*.gguf   small valid qwen35 models that must load;
bad-*.gguf  malformed files that must be refused with a one-line error (truncations, corrupted counts
            and lengths, huge dimensions, unknown/interleaved type ids, bad offsets, missing keys, ...).
Deterministic: running it twice gives the same files."""
import os, struct, random, sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'data', 'corpus')

# gguf value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCAL = {U8: '<B', I8: '<b', U16: '<H', I16: '<h', U32: '<I', I32: '<i', F32: '<f', BOOL: '<B',
        U64: '<Q', I64: '<q', F64: '<d'}
# ggml types used here: id -> (block elements, bytes per block)
QT = {0: (1, 4), 1: (1, 2), 30: (1, 2), 2: (32, 18), 7: (32, 24), 8: (32, 34), 20: (32, 18)}


def gstr(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack('<Q', len(b)) + b


def value(t, v):
    if t == STR:
        return gstr(v)
    if t == ARR:
        et, items = v
        out = struct.pack('<IQ', et, len(items))
        return out + b''.join(value(et, x) for x in items)
    return struct.pack(SCAL[t], v)


def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def f16_bits(x):
    return struct.unpack('<H', struct.pack('<e', x))[0]


class Model:
    """A tiny qwen35: n_embd 32, n_main main blocks (attention every interval-th) + 1 MTP block.
    small_vocab: only 64 byte tokens (enough to load; the bad- files use it to stay small)."""

    def __init__(self, mtp=True, qtypes=True, n_main=4, interval=4, small_vocab=False):
        self.rng = random.Random(1234)
        E, F, H, HKV, HD, ROT = 32, 32, 2, 1, 8, 8
        CK, DS, NG, DTR = 4, 8, 1, 2
        DI = DTR * DS
        CC = 2 * NG * DS + DI
        nl = n_main + (1 if mtp else 0)
        b2u = bytes_to_unicode()
        toks = [b2u[b] for b in (range(32, 96) if small_vocab else range(256))]
        merges = [('Ġ', 'Ġ'), ('h', 'e'), ('l', 'l'), ('he', 'll'), ('hell', 'o'), ('Ġ', 'w'), ('o', 'r'), ('Ġw', 'or'), ('l', 'd'), ('Ġwor', 'ld')]
        for a, b in merges:
            toks.append(a + b)
        specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>']
        toks += specials
        ttype = [1] * (len(toks) - len(specials)) + [3] * len(specials)
        self.n_vocab = len(toks) + 4   # a few spare embedding rows
        self.kv = [
            ('general.architecture', STR, 'qwen35'),
            ('general.name', STR, 'corpus-tiny'),
            ('qwen35.block_count', U32, nl),
            ('qwen35.context_length', U32, 64),
            ('qwen35.embedding_length', U32, E),
            ('qwen35.feed_forward_length', U32, F),
            ('qwen35.attention.head_count', U32, H),
            ('qwen35.attention.head_count_kv', U32, HKV),
            ('qwen35.attention.key_length', U32, HD),
            ('qwen35.attention.value_length', U32, HD),
            ('qwen35.rope.freq_base', F32, 10000000.0),
            ('qwen35.rope.dimension_count', U32, ROT),
            ('qwen35.rope.dimension_sections', ARR, (I32, [2, 2, 0, 0])),
            ('qwen35.attention.layer_norm_rms_epsilon', F32, 1e-6),
            ('qwen35.full_attention_interval', U32, interval),
            ('qwen35.ssm.conv_kernel', U32, CK),
            ('qwen35.ssm.state_size', U32, DS),
            ('qwen35.ssm.group_count', U32, NG),
            ('qwen35.ssm.time_step_rank', U32, DTR),
            ('qwen35.ssm.inner_size', U32, DI),
            ('qwen35.nextn_predict_layers', U32, 1 if mtp else 0),
            ('tokenizer.ggml.model', STR, 'gpt2'),
            ('tokenizer.ggml.pre', STR, 'qwen35'),
            ('tokenizer.ggml.tokens', ARR, (STR, toks)),
            ('tokenizer.ggml.token_type', ARR, (I32, ttype)),
            ('tokenizer.ggml.merges', ARR, (STR, [a + ' ' + b for a, b in merges])),
            ('tokenizer.ggml.bos_token_id', U32, len(toks) - 3),
            ('tokenizer.ggml.eos_token_id', U32, len(toks) - 1),
            ('tokenizer.ggml.add_bos_token', BOOL, 0),
            ('general.quantization_version', U32, 2),
        ]
        q = (lambda t: t if not small_vocab or t in (0, 1, 30) else 2) if qtypes else (lambda t: 0)
        T = []
        T.append(('token_embd.weight', [E, self.n_vocab], q(8)))
        T.append(('output_norm.weight', [E], 0))
        T.append(('output.weight', [E, self.n_vocab], q(2)))
        for i in range(nl):
            p = 'blk.%d.' % i
            T.append((p + 'attn_norm.weight', [E], 0))
            T.append((p + 'post_attention_norm.weight', [E], 0))
            if i < n_main and (i + 1) % interval:
                T += [(p + 'attn_qkv.weight', [E, CC], q(20)), (p + 'attn_gate.weight', [E, DI], q(2)),
                      (p + 'ssm_conv1d.weight', [CK, CC], 0), (p + 'ssm_dt.bias', [DTR], 0), (p + 'ssm_a', [DTR], 0),
                      (p + 'ssm_beta.weight', [E, DTR], q(1)), (p + 'ssm_alpha.weight', [E, DTR], q(30)),
                      (p + 'ssm_norm.weight', [DS], 0), (p + 'ssm_out.weight', [DI, E], q(1))]
            else:
                T += [(p + 'attn_q.weight', [E, 2 * H * HD], q(8)), (p + 'attn_k.weight', [E, HKV * HD], q(2)),
                      (p + 'attn_v.weight', [E, HKV * HD], 0), (p + 'attn_output.weight', [H * HD, E], q(30)),
                      (p + 'attn_q_norm.weight', [HD], 0), (p + 'attn_k_norm.weight', [HD], 0)]
            T += [(p + 'ffn_gate.weight', [E, F], q(8)), (p + 'ffn_up.weight', [E, F], q(7)), (p + 'ffn_down.weight', [F, E], q(2 if small_vocab else 20))]
            if i == n_main:
                T += [(p + 'nextn.eh_proj.weight', [2 * E, E], q(8)), (p + 'nextn.enorm.weight', [E], 0),
                      (p + 'nextn.hnorm.weight', [E], 0), (p + 'nextn.shared_head_norm.weight', [E], 0)]
        self.tensors = [[n, list(ne), t, None, None] for n, ne, t in T]   # name, ne, type, offset, data
        self.alignment = 32

    def tensor_data(self, ne, t):
        rng = self.rng
        n = 1
        for d in ne:
            n *= d
        blk, by = QT[t]
        nb = n // blk
        out = bytearray()
        for _ in range(nb):
            if t == 0:
                out += struct.pack('<f', rng.uniform(-0.2, 0.2) if len(ne) > 1 else rng.uniform(0.8, 1.2))
            elif t == 1:
                out += struct.pack('<e', rng.uniform(-0.2, 0.2))
            elif t == 30:
                out += struct.pack('<f', rng.uniform(-0.2, 0.2))[2:]
            else:
                hdr = struct.pack('<H', f16_bits(0.01))
                if t == 7:
                    hdr += struct.pack('<H', f16_bits(-0.05))
                out += hdr + bytes(rng.randrange(256) for _ in range(by - len(hdr)))
        return bytes(out)

    def build(self, kv=None, tensors=None, version=3, n_kv=None, n_tensors=None, raw_info=None, layout=True):
        kv = self.kv if kv is None else kv
        tensors = self.tensors if tensors is None else tensors
        al = self.alignment
        for k, t, v in kv:
            if k == 'general.alignment' and isinstance(v, int) and v > 0:
                al = v
        data = bytearray()
        for tt in tensors:
            if tt[4] is None:
                tt[4] = self.tensor_data(tt[1], tt[2]) if tt[2] in QT else b'\0' * 64
            if layout or tt[3] is None:
                data += b'\0' * ((-len(data)) % al)
                tt[3] = len(data)
                data += tt[4]
        out = bytearray(b'GGUF' + struct.pack('<I', version))
        out += struct.pack('<QQ', len(tensors) if n_tensors is None else n_tensors, len(kv) if n_kv is None else n_kv)
        for k, t, v in kv:
            out += gstr(k) + struct.pack('<I', t) + (v if isinstance(v, (bytes, bytearray)) else value(t, v))
        for name, ne, t, off, _ in tensors:
            out += gstr(name) + struct.pack('<I', len(ne)) + b''.join(struct.pack('<Q', d) for d in ne)
            out += struct.pack('<IQ', t, off)
        if raw_info is not None:
            out += raw_info
        out += b'\0' * ((-len(out)) % al)
        return bytes(out + data)


def replace_kv(m, key, t, v):
    return [(k, t, v) if k == key else (k, tt, vv) for k, tt, vv in m.kv]


def drop_kv(m, key):
    return [x for x in m.kv if x[0] != key]


def with_tensor(m, name, **kw):
    out = []
    for n, ne, t, off, d in m.tensors:
        if n == name:
            ne = kw.get('ne', ne); t = kw.get('type', t); d = kw.get('data', d)
        out.append([n, list(ne), t, off, d])
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith('.gguf'):
            os.remove(os.path.join(OUT, f))
    files = {}
    full = Model()
    files['ok-tiny-qwen35-mtp.gguf'] = full.build()
    files['ok-mini-f32-nomtp.gguf'] = Model(mtp=False, qtypes=False, n_main=2, interval=2, small_vocab=True).build()
    # the rest derive from a smaller model: 2 blocks (delta-net, attention), 64 tokens, no MTP
    m = Model(mtp=False, n_main=2, interval=2, small_vocab=True)
    good = m.build()
    files['ok-mini-2blocks.gguf'] = good
    offs = [t[3] for t in m.tensors]
    files['ok-tiny-nested-array-key.gguf'] = m.build(kv=m.kv + [('x.nested', ARR, (ARR, [(U8, [1, 2]), (STR, ['a'])]))])
    files['ok-tiny-alignment-64.gguf'] = m.build(kv=m.kv + [('general.alignment', U32, 64)])
    files['ok-tiny-v2.gguf'] = m.build(version=2)

    # offsets of interesting places in the valid file
    hdr_end = 24
    kv_starts = []
    pos = hdr_end
    for k, t, v in m.kv:
        kv_starts.append(pos)
        pos += len(gstr(k)) + 4 + len(value(t, v))
    info_start = pos
    info_starts = []
    for name, ne, t, off, _ in m.tensors:
        info_starts.append(pos)
        pos += len(gstr(name)) + 4 + 8 * len(ne) + 12
    data_start = (pos + 31) // 32 * 32

    # truncations
    cuts = sorted(set([0, 1, 3, 4, 7, 8, 12, 16, 20, 23, 24, 30, kv_starts[1] + 5, kv_starts[2] + 9,
                       kv_starts[12] + 20, kv_starts[23] + 40, kv_starts[23] + 300, kv_starts[25] + 30,
                       info_start + 3, info_start + 10, info_starts[5] + 20, pos - 1, pos, data_start + 100,
                       len(good) - 1]))
    for c in cuts:
        files['bad-trunc-at-%d.gguf' % c] = good[:c]

    def patch(buf, at, fmt, v):
        b = bytearray(buf); struct.pack_into(fmt, b, at, v); return bytes(b)

    files['bad-magic.gguf'] = b'GGUG' + good[4:]
    files['bad-version-1.gguf'] = patch(good, 4, '<I', 1)
    files['bad-version-99.gguf'] = patch(good, 4, '<I', 99)
    files['bad-n-tensors-huge.gguf'] = patch(good, 8, '<Q', 0xFFFFFFFFFFFFFFFF)
    files['bad-n-tensors-2pow63.gguf'] = patch(good, 8, '<Q', 1 << 63)
    files['bad-n-tensors-plus-one.gguf'] = patch(good, 8, '<Q', len(m.tensors) + 1)
    files['bad-n-tensors-zero.gguf'] = patch(good, 8, '<Q', 0)
    files['bad-n-kv-huge.gguf'] = patch(good, 16, '<Q', 0xFFFFFFFF)
    files['bad-n-kv-plus-one.gguf'] = patch(good, 16, '<Q', len(m.kv) + 1)
    files['bad-n-kv-minus-one.gguf'] = patch(good, 16, '<Q', len(m.kv) - 1)
    files['bad-key-length-huge.gguf'] = patch(good, kv_starts[0], '<Q', 1 << 62)
    files['bad-key-length-max.gguf'] = patch(good, kv_starts[0], '<Q', 0xFFFFFFFFFFFFFFFF)
    files['bad-string-value-length-huge.gguf'] = patch(good, kv_starts[0] + 8 + 20 + 4, '<Q', 0xFFFFFFFFFFFFFFF0)
    tok_kv = kv_starts[23] + 8 + len('tokenizer.ggml.tokens') + 4
    files['bad-array-length-huge.gguf'] = patch(good, tok_kv + 4, '<Q', 1 << 61)
    files['bad-array-length-max.gguf'] = patch(good, tok_kv + 4, '<Q', 0xFFFFFFFFFFFFFFFF)
    files['bad-array-elem-type-99.gguf'] = patch(good, tok_kv, '<I', 99)
    files['bad-array-string-length-huge.gguf'] = patch(good, tok_kv + 12, '<Q', 1 << 40)
    files['bad-value-type-13.gguf'] = patch(good, kv_starts[2] + 8 + len('qwen35.block_count'), '<I', 13)
    files['bad-value-type-max.gguf'] = patch(good, kv_starts[2] + 8 + len('qwen35.block_count'), '<I', 0xFFFFFFFF)
    nest = (U8, [1])
    for _ in range(8):
        nest = (ARR, [nest])
    files['bad-array-nested-too-deep.gguf'] = m.build(kv=m.kv + [('x.deep', ARR, nest)])
    files['bad-duplicate-key.gguf'] = m.build(kv=m.kv + [('qwen35.block_count', U32, 5)])
    dup = [list(x) for x in m.tensors] + [list(m.tensors[1])]
    files['bad-duplicate-tensor.gguf'] = m.build(tensors=dup)
    files['bad-arch-llama.gguf'] = m.build(kv=replace_kv(m, 'general.architecture', STR, 'llama'))
    files['bad-arch-not-string.gguf'] = m.build(kv=replace_kv(m, 'general.architecture', U32, 35))
    files['bad-missing-arch.gguf'] = m.build(kv=drop_kv(m, 'general.architecture'))
    files['bad-missing-block-count.gguf'] = m.build(kv=drop_kv(m, 'qwen35.block_count'))
    files['bad-missing-eps.gguf'] = m.build(kv=drop_kv(m, 'qwen35.attention.layer_norm_rms_epsilon'))
    files['bad-missing-tokens.gguf'] = m.build(kv=drop_kv(m, 'tokenizer.ggml.tokens'))
    files['bad-missing-merges.gguf'] = m.build(kv=drop_kv(m, 'tokenizer.ggml.merges'))
    files['bad-block-count-huge.gguf'] = m.build(kv=replace_kv(m, 'qwen35.block_count', U32, 0xFFFFFFFF))
    files['bad-block-count-zero.gguf'] = m.build(kv=replace_kv(m, 'qwen35.block_count', U32, 0))
    files['bad-block-count-string.gguf'] = m.build(kv=replace_kv(m, 'qwen35.block_count', STR, '5'))
    files['bad-embd-negative.gguf'] = m.build(kv=replace_kv(m, 'qwen35.embedding_length', I32, -32))
    files['bad-embd-mismatch.gguf'] = m.build(kv=replace_kv(m, 'qwen35.embedding_length', U32, 64))
    files['bad-heads-kv-not-divisor.gguf'] = m.build(kv=replace_kv(m, 'qwen35.attention.head_count_kv', U32, 3))
    files['bad-ssm-inner-mismatch.gguf'] = m.build(kv=replace_kv(m, 'qwen35.ssm.inner_size', U32, 48))
    files['bad-interval-zero.gguf'] = m.build(kv=replace_kv(m, 'qwen35.full_attention_interval', U32, 0))
    files['bad-alignment-not-pow2.gguf'] = m.build(kv=m.kv + [('general.alignment', U32, 48)])
    files['bad-alignment-zero.gguf'] = m.build(kv=m.kv + [('general.alignment', U32, 0)])
    files['bad-tokens-wrong-type.gguf'] = m.build(kv=replace_kv(m, 'tokenizer.ggml.tokens', ARR, (U32, [1, 2, 3])))
    files['bad-tokens-empty.gguf'] = m.build(kv=replace_kv(m, 'tokenizer.ggml.tokens', ARR, (STR, [])))
    files['bad-token-type-short.gguf'] = m.build(kv=replace_kv(m, 'tokenizer.ggml.token_type', ARR, (I32, [1] * 10)))
    files['bad-token-type-strings.gguf'] = m.build(kv=replace_kv(m, 'tokenizer.ggml.token_type', ARR, (STR, ['a'])))
    files['bad-merges-not-array.gguf'] = m.build(kv=replace_kv(m, 'tokenizer.ggml.merges', STR, 'a b'))
    files['bad-tokenizer-model-llama.gguf'] = m.build(kv=replace_kv(m, 'tokenizer.ggml.model', STR, 'llama'))
    files['bad-vocab-larger-than-embd.gguf'] = m.build(tensors=with_tensor(m, 'token_embd.weight', ne=[32, 100]))
    # tensor infos
    files['bad-dims-zero.gguf'] = m.build(tensors=with_tensor(m, 'output_norm.weight', ne=[]))
    files['bad-dims-five.gguf'] = m.build(tensors=with_tensor(m, 'output_norm.weight', ne=[32, 1, 1, 1, 1]))
    files['bad-dim-zero.gguf'] = m.build(tensors=with_tensor(m, 'output_norm.weight', ne=[0]))
    files['bad-dim-huge.gguf'] = m.build(tensors=with_tensor(m, 'output_norm.weight', ne=[1 << 62]))
    files['bad-dim-max.gguf'] = m.build(tensors=with_tensor(m, 'output_norm.weight', ne=[0xFFFFFFFFFFFFFFFF]))
    files['bad-dim-product-overflow.gguf'] = m.build(tensors=with_tensor(m, 'output_norm.weight', ne=[1 << 32, 1 << 32, 1 << 32]))
    files['bad-dim-product-huge.gguf'] = m.build(tensors=with_tensor(m, 'output.weight', ne=[32, 1 << 38]))
    files['bad-type-unknown-77.gguf'] = m.build(tensors=with_tensor(m, 'output_norm.weight', type=77))
    files['bad-type-unknown-max.gguf'] = m.build(tensors=with_tensor(m, 'output_norm.weight', type=0xFFFFFFFF))
    files['bad-type-interleaved-q8_0_r8-208.gguf'] = m.build(tensors=with_tensor(m, 'token_embd.weight', type=208))
    files['bad-type-interleaved-iq4_k_r4-339.gguf'] = m.build(tensors=with_tensor(m, 'output.weight', type=339))
    files['bad-type-interleaved-bf16_r16-230.gguf'] = m.build(tensors=with_tensor(m, 'output_norm.weight', type=230))
    files['bad-type-row-not-multiple-of-block.gguf'] = m.build(tensors=with_tensor(m, 'blk.0.ssm_conv1d.weight', type=8))
    files['bad-shape-wrong.gguf'] = m.build(tensors=with_tensor(m, 'blk.0.ffn_up.weight', ne=[32, 16], data=b'\0' * (16 * 24)))
    files['bad-shape-3d.gguf'] = m.build(tensors=with_tensor(m, 'blk.1.attn_q.weight', ne=[32, 16, 2]))
    files['bad-norm-wrong-length.gguf'] = m.build(tensors=with_tensor(m, 'output_norm.weight', ne=[16], data=b'\0' * 64))
    t2 = [list(x) for x in m.tensors if x[0] != 'blk.1.attn_k.weight']
    files['bad-missing-tensor-attn-k.gguf'] = m.build(tensors=t2)
    t3 = [list(x) for x in m.tensors if x[0] != 'token_embd.weight']
    files['bad-missing-token-embd.gguf'] = m.build(tensors=t3)
    # offsets: build once, then edit the offset field of one tensor info in place
    def off_at(i):
        name, ne = m.tensors[i][0], m.tensors[i][1]
        return info_starts[i] + 8 + len(name) + 4 + 8 * len(ne) + 4
    files['bad-offset-unaligned.gguf'] = patch(good, off_at(1), '<Q', offs[1] + 4)
    files['bad-offset-past-end.gguf'] = patch(good, off_at(1), '<Q', len(good))
    files['bad-offset-max.gguf'] = patch(good, off_at(2), '<Q', 0xFFFFFFFFFFFFFFE0)
    files['bad-offset-last-tensor-overhangs.gguf'] = good[:len(good) - 4]
    files['bad-offset-overlap.gguf'] = patch(good, off_at(2), '<Q', offs[1])
    files['bad-name-empty.gguf'] = m.build(tensors=[['', [32], 0, None, None]] + [list(x) for x in m.tensors])
    files['bad-name-huge-length.gguf'] = patch(good, info_starts[0], '<Q', 1 << 50)
    files['bad-name-with-nul.gguf'] = m.build(tensors=[['a\0b', [32], 0, None, None]] + [list(x) for x in m.tensors])
    # random byte flips in the header/metadata region (fixed seed)
    rng = random.Random(99)
    for i in range(12):
        b = bytearray(good)
        for _ in range(3):
            b[rng.randrange(24, info_start)] = rng.randrange(256)
        files['any-flip-meta-%02d.gguf' % i] = bytes(b)
    for i in range(8):
        b = bytearray(good)
        for _ in range(3):
            b[rng.randrange(info_start, pos)] = rng.randrange(256)
        files['any-flip-info-%02d.gguf' % i] = bytes(b)

    total = 0
    for name, data in sorted(files.items()):
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)
        total += len(data)
    print('%d files, %d bytes in %s' % (len(files), total, os.path.normpath(OUT)))


if __name__ == '__main__':
    main()
