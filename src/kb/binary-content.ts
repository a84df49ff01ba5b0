// Whether the bytes of a file that claims to be text (.md, .txt, .html) are really text: random or
// binary data named `.md` would otherwise be indexed as hundreds of chunks of junk. Text never
// holds NUL bytes, and UTF-8 text has (almost) no byte sequences that fail to decode.
const SAMPLE_BYTES = 64 * 1024;
const MAX_INVALID_RATIO = 0.1;

export function looksBinary(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, SAMPLE_BYTES);
  if (sample.includes(0)) return true;
  // A sample cut mid-character would end in one replacement character: not a sign of binary.
  const text = new TextDecoder('utf-8').decode(sample, { stream: sample.length < bytes.length });
  let invalid = 0;
  for (let i = text.indexOf('\ufffd'); i !== -1; i = text.indexOf('\ufffd', i + 1)) invalid++;
  return invalid > Math.max(1, text.length * MAX_INVALID_RATIO);
}
