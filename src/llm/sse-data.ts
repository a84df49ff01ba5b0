// The `data` of each server-sent event in a body that arrives in pieces, as the EventSource spec
// reads it: lines end with LF, CRLF or a lone CR (a CRLF may be split between two pieces), `data:`
// lines of one event are joined with LF, a blank line ends the event, and an event still open when
// the body ends is dropped. Other fields (`event:`, `id:`, `retry:`, comments) carry nothing an
// OpenAI-style stream needs and are skipped. Plain string work: no web streams, no per-line objects.
export class SseDataReader {
  private pending = '';
  private data = '';
  private dataLines = 0;
  private first = true;
  /** The previous piece ended with a CR: an LF at the start of this one belongs to it. */
  private afterCr = false;

  /** Reads one decoded piece of the body; `onData` receives each event completed by it. */
  feed(piece: string, onData: (data: string) => void): void {
    let text = piece;
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.afterCr && text.charCodeAt(0) === 10) text = text.slice(1);
    this.afterCr = false;
    if (this.pending) {
      text = this.pending + text;
      this.pending = '';
    }
    const hasCr = text.indexOf('\r') !== -1;
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      let next = end + 1;
      if (hasCr) {
        const cr = text.indexOf('\r', start);
        if (cr !== -1 && (end === -1 || cr < end)) {
          end = cr;
          if (text.charCodeAt(cr + 1) === 10) next = cr + 2;
          else {
            next = cr + 1;
            if (cr === text.length - 1) this.afterCr = true;
          }
        }
      }
      if (end === -1) break;
      this.line(text, start, end, onData);
      start = next;
    }
    if (start < text.length) this.pending = text.slice(start);
  }

  private line(text: string, start: number, end: number, onData: (data: string) => void): void {
    if (start === end) {
      if (this.dataLines > 0) {
        const data = this.data;
        this.data = '';
        this.dataLines = 0;
        onData(data);
      }
      return;
    }
    // `data:` with an optional single space before the value.
    if (text.startsWith('data:', start)) {
      const from = text.charCodeAt(start + 5) === 32 ? start + 6 : start + 5;
      const value = text.slice(from, end);
      this.data = this.dataLines === 0 ? value : `${this.data}\n${value}`;
      this.dataLines++;
    } else if (text.startsWith('data', start) && end - start === 4) {
      // A bare `data` line is a data field with an empty value.
      this.data = this.dataLines === 0 ? '' : `${this.data}\n`;
      this.dataLines++;
    }
  }
}
