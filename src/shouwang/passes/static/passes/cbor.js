// Small, self-contained readers for what a pass code is made of: base45 (RFC 9285), CBOR
// (RFC 8949: the subset COSE and CWT use) and the CBOR encoding of COSE's Sig_structure.
"use strict";
window.SWCodec = (function () {
  const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

  function base45Decode(text) {
    const values = [];
    for (const ch of text) {
      const v = B45.indexOf(ch);
      if (v < 0) throw new Error("not base45");
      values.push(v);
    }
    const out = [];
    for (let i = 0; i < values.length; i += 3) {
      const rest = values.length - i;
      if (rest === 1) throw new Error("base45 length");
      let n = values[i] + values[i + 1] * 45;
      if (rest >= 3) {
        n += values[i + 2] * 2025;
        if (n > 0xffff) throw new Error("base45 value");
        out.push(n >> 8, n & 0xff);
      } else {
        if (n > 0xff) throw new Error("base45 value");
        out.push(n);
      }
    }
    return new Uint8Array(out);
  }

  class Tag {
    constructor(tag, value) { this.tag = tag; this.value = value; }
  }

  function cborDecode(bytes) {
    let pos = 0;
    let depth = 0;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    function need(n) { if (pos + n > bytes.length) throw new Error("CBOR truncated"); }
    function length(info) {
      if (info < 24) return info;
      if (info === 24) { need(1); return bytes[pos++]; }
      if (info === 25) { need(2); const v = view.getUint16(pos); pos += 2; return v; }
      if (info === 26) { need(4); const v = view.getUint32(pos); pos += 4; return v; }
      if (info === 27) {
        need(8); const v = view.getBigUint64(pos); pos += 8;
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("CBOR integer too large");
        return Number(v);
      }
      throw new Error("CBOR indefinite lengths are not used in passes");
    }
    function item() {
      if (++depth > 16) throw new Error("CBOR too deep");
      need(1);
      const first = bytes[pos++];
      const major = first >> 5, info = first & 31;
      let result;
      if (major === 7) {
        if (info === 20) result = false;
        else if (info === 21) result = true;
        else if (info === 22 || info === 23) result = null;
        else if (info === 25) { need(2); result = view.getFloat16 ? view.getFloat16(pos) : NaN; pos += 2; }
        else if (info === 26) { need(4); result = view.getFloat32(pos); pos += 4; }
        else if (info === 27) { need(8); result = view.getFloat64(pos); pos += 8; }
        else throw new Error("CBOR simple value");
      } else {
        const n = length(info);
        if (major === 0) result = n;
        else if (major === 1) result = -1 - n;
        else if (major === 2) { need(n); result = bytes.slice(pos, pos + n); pos += n; }
        else if (major === 3) { need(n); result = new TextDecoder("utf-8", { fatal: true }).decode(bytes.slice(pos, pos + n)); pos += n; }
        else if (major === 4) { result = []; for (let i = 0; i < n; i++) result.push(item()); }
        else if (major === 5) { result = new Map(); for (let i = 0; i < n; i++) { const k = item(); result.set(k, item()); } }
        else if (major === 6) result = new Tag(n, item());
      }
      depth--;
      return result;
    }
    const value = item();
    if (pos !== bytes.length) throw new Error("CBOR trailing bytes");
    return value;
  }

  function head(major, n) {
    if (n < 24) return [(major << 5) | n];
    if (n < 256) return [(major << 5) | 24, n];
    if (n < 65536) return [(major << 5) | 25, n >> 8, n & 0xff];
    return [(major << 5) | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  }

  // Sig_structure = ["Signature1", body_protected, external_aad, payload] (RFC 9052, 4.4).
  function sigStructure(protectedBytes, payload) {
    const text = new TextEncoder().encode("Signature1");
    const parts = [
      head(4, 4), head(3, text.length), Array.from(text),
      head(2, protectedBytes.length), Array.from(protectedBytes),
      head(2, 0),
      head(2, payload.length), Array.from(payload),
    ];
    return new Uint8Array(parts.flat());
  }

  async function inflate(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    const buffer = await new Response(stream).arrayBuffer();
    if (buffer.byteLength > 4096) throw new Error("too large");
    return new Uint8Array(buffer);
  }

  return { base45Decode, cborDecode, sigStructure, inflate, Tag };
})();
