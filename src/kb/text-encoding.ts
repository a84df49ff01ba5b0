// The text of a file that claims to be text (.md, .txt, .html), whatever encoding it was saved in,
// or nothing when its bytes are binary (random or binary data named `.md` would otherwise be
// indexed as hundreds of chunks of junk). Real folders hold more than UTF-8: Notepad and
// PowerShell save UTF-16 with a byte order mark, older editors and mail archives Latin-1 or
// Windows-1252. Those were read as binary (UTF-16 holds NUL bytes, Latin-1 accents fail to decode
// as UTF-8) and skipped, though they are plain text.
const SAMPLE_BYTES = 64 * 1024;
/** UTF-8 with more undecodable bytes than this (and not legacy 8-bit text) is binary. */
const MAX_INVALID_RATIO = 0.1;
/** Text has almost no control characters; binary data decoded as text is full of them. */
const MAX_CONTROL_RATIO = 0.01;

/** Control characters text does not hold (tab, line ends and form feed are text), and U+FFFD. */
const NOT_TEXT = /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\ufffd]/g;

const looksLikeText = (text: string) => (text.match(NOT_TEXT)?.length ?? 0) <= text.length * MAX_CONTROL_RATIO;

/** The encoding of `bytes`, from their first 64 KiB; undefined when they are not text. */
function detectEncoding(bytes: Uint8Array): 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252' | undefined {
  const more = bytes.length > SAMPLE_BYTES;
  // A byte order mark says it (UTF-8's is dropped by the decoder, as the others are).
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return utf16Text('utf-16le', bytes, more);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return utf16Text('utf-16be', bytes, more);
  const sample = bytes.subarray(0, SAMPLE_BYTES);
  if (sample.includes(0)) return undefined; // no 8-bit or UTF-8 text holds NUL bytes
  // A sample cut mid-character would end in one replacement character: not a sign of binary.
  const utf8 = new TextDecoder('utf-8').decode(sample, { stream: more });
  let invalid = 0;
  let multibyte = 0;
  for (const ch of utf8) {
    if (ch === '\ufffd') invalid++;
    else if (ch > '\u007f') multibyte++;
  }
  // UTF-8, or UTF-8 with a few damaged bytes among its accents (not re-read as Latin-1 mojibake).
  if (invalid === 0 || (multibyte >= invalid && invalid <= Math.max(1, utf8.length * MAX_INVALID_RATIO)))
    return 'utf-8';
  // Bytes above 0x7F that are no UTF-8: Latin-1 or its Windows superset, if the result reads as text.
  if (looksLikeText(new TextDecoder('windows-1252').decode(sample))) return 'windows-1252';
  return invalid <= Math.max(1, utf8.length * MAX_INVALID_RATIO) ? 'utf-8' : undefined;
}

function utf16Text(encoding: 'utf-16le' | 'utf-16be', bytes: Uint8Array, more: boolean) {
  const text = new TextDecoder(encoding).decode(bytes.subarray(0, SAMPLE_BYTES), { stream: more });
  return looksLikeText(text) ? encoding : undefined;
}

/**
 * The text of `bytes` with Unix line ends (a Windows `\r\n` would stay at the end of every line:
 * a `# Title\r` is no Markdown heading to a `$` that does not match before `\r`), or undefined
 * when they are binary.
 */
export function decodeText(bytes: Uint8Array): string | undefined {
  const encoding = detectEncoding(bytes);
  if (!encoding) return undefined;
  return new TextDecoder(encoding).decode(bytes).replace(/\r\n?/g, '\n');
}
