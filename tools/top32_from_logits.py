# Top-32 (id, logit) per position from a logits file (llama_logits.c's format), descending, ties
# by lower id (as a stable sort). Pure Python: python3 top32_from_logits.py IN.bin OUT.top32.bin
import array, heapq, struct, sys

b = open(sys.argv[1], 'rb').read()
n, nv = struct.unpack_from('<ii', b, 0)
toks = struct.unpack_from('<%di' % n, b, 8)
lg = array.array('f')
lg.frombytes(b[8 + 4 * n:8 + 4 * n + 4 * n * nv])
if sys.byteorder != 'little':
    lg.byteswap()
with open(sys.argv[2], 'wb') as o:
    o.write(struct.pack('<ii', n, nv))
    o.write(struct.pack('<%di' % n, *toks))
    for i in range(n):
        row = lg[i * nv:(i + 1) * nv]
        idx = heapq.nlargest(32, range(nv), key=row.__getitem__)
        o.write(struct.pack('<32i', *idx))
        o.write(struct.pack('<32f', *[row[j] for j in idx]))
