# Re-encodes a DER CMS message that openssl wrote into BER variants that
# gpgsm, NSS and openssl -stream do not all write: indefinite and definite
# lengths mixed on the way to the content, the content in definite or
# indefinite chunks, an empty chunk. The cms engine finds the content where
# it lies in the message (plugins/smime/cms/cms.c, cms_content_at and
# cms_cut), so each variant must give the same content and verdict as the
# DER original.
#
# usage: python3 ber-mix.py enveloped|signed IN.der PREFIX
#   enveloped: IN is EnvelopedData or AuthEnvelopedData without
#              originatorInfo; the content is the [0] IMPLICIT
#              encryptedContent (0x80), chunked as [0] constructed (0xa0)
#   signed:    IN is opaque SignedData; the content is eContent's OCTET
#              STRING (0x04), chunked as a constructed OCTET STRING (0x24)
# writes PREFIX-a.der .. PREFIX-f.der:
#   a  the content's container and the chunks indefinite, 3 chunks + rest
#   b  the Enveloped/SignedData and the chunks indefinite, the levels
#      between definite, 2 chunks + rest
#   c  ContentInfo and its [0] indefinite, the content as it was
#   d  all definite, the content in 1 chunk + rest
#   e  every level down to the content indefinite, the content as it was
#   f  the chunks indefinite, the first chunk empty
import copy
import sys


def parse(b, i=0):
    tag = b[i]
    l = b[i + 1]
    i += 2
    if tag & 0x1f == 0x1f:
        sys.exit('high tag numbers are not handled')
    if l == 0x80:
        sys.exit('the input must be DER (definite lengths)')
    if l & 0x80:
        n = l & 0x7f
        l = int.from_bytes(b[i:i + n], 'big')
        i += n
    v = b[i:i + l]
    node = {'tag': tag, 'val': v, 'kids': None}
    if tag & 0x20:
        kids, j = [], 0
        while j < len(v):
            k, j = parse(v, j)
            kids.append(k)
        node['kids'] = kids
    return node, i + l


def dlen(n):
    if n < 128:
        return bytes([n])
    s = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(s)]) + s


def emit(n, indef, path=()):
    if n['kids'] is None:
        body = n['val']
    else:
        body = b''.join(emit(k, indef, path + (i,))
                        for i, k in enumerate(n['kids']))
    if path in indef:
        assert n['tag'] & 0x20, 'only a constructed value may be indefinite'
        return bytes([n['tag']]) + b'\x80' + body + b'\0\0'
    return bytes([n['tag']]) + dlen(len(body)) + body


def at(node, path):
    for i in path:
        node = node['kids'][i]
    return node


def main():
    mode, src, prefix = sys.argv[1:4]
    root, end = parse(open(src, 'rb').read())
    if mode == 'enveloped':
        # ContentInfo > [0] > ED (version, recipientInfos, ECI) > [0]
        outer = (1, 0)
        levels = [(1, 0), (1, 0, 2)]
        content = (1, 0, 2, 2)
        prim, cons = 0x80, 0xa0
    elif mode == 'signed':
        # ContentInfo > [0] > SD (version, digestAlgorithms, ECI) >
        # eContent [0] > OCTET STRING
        outer = (1, 0)
        levels = [(1, 0), (1, 0, 2), (1, 0, 2, 1)]
        content = (1, 0, 2, 1, 0)
        prim, cons = 0x04, 0x24
    else:
        sys.exit('mode: enveloped or signed')
    c = at(root, content)
    assert c['tag'] == prim and c['kids'] is None, 'unexpected layout'
    val = c['val']

    def chunked(sizes):
        kids, i = [], 0
        for s in sizes:
            kids.append({'tag': 0x04, 'val': val[i:i + s], 'kids': None})
            i += s
        kids.append({'tag': 0x04, 'val': val[i:], 'kids': None})
        return {'tag': cons, 'val': None, 'kids': kids}

    def variant(name, indef, sizes=None):
        r = copy.deepcopy(root)
        if sizes is not None:
            parent = at(r, content[:-1])
            parent['kids'][content[-1]] = chunked(sizes)
        with open('%s-%s.der' % (prefix, name), 'wb') as f:
            f.write(emit(r, set(indef)))

    n = len(val)
    third = max(1, n // 3)
    variant('a', [levels[-1], content], [third, 7, third // 2])
    variant('b', [outer, content], [16, 16])
    variant('c', [(), (1,)])
    variant('d', [], [n // 2])
    variant('e', [(), (1,)] + levels)
    variant('f', [content], [0, n // 2])


main()
