// The title a document is cited by, as READMEs of real packages are written: a heading with its
// badges, a logo then prose, an HTML title, a file named README; and a generated HTML page whose
// headings end with a permalink sign.
import { describe, expect, it } from 'vitest';
import { extractDocument } from '../../src/kb/extract.ts';

const titleOf = async (path: string, text: string) =>
  (await extractDocument(path, new TextEncoder().encode(text))).title;

describe('document titles', () => {
  it('takes the first heading without its badges', async () => {
    const readme =
      '# micromatch [![NPM version](https://img.shields.io/npm/v/micromatch.svg)](https://www.npmjs.com/package/micromatch) [![Downloads](https://img.shields.io/npm/dm/micromatch.svg)](https://npmjs.org/package/micromatch)\n\n> Glob matching for javascript/node.js.';
    expect(await titleOf('/pkgs/micromatch/README.md', readme)).toBe('micromatch');
  });

  it("names a README whose title is a logo by the logo's text, never by a later section", async () => {
    const readme =
      '[![ioredis](https://cdn.example/logo.svg)](https://github.com/redis/ioredis)\n\n' +
      '[![Build Status](https://ci.example/badge.svg)](https://ci.example)\n\n' +
      'A robust, performance-focused and full-featured Redis client for Node.js.\n\n# Features\n\nCluster support.';
    expect(await titleOf('/pkgs/ioredis/README.md', readme)).toBe('ioredis');
  });

  it('reads an HTML title in Markdown, and names a README without one by its folder', async () => {
    const zod =
      '<p align="center">\n  <img src="logo.svg" alt="Zod logo" />\n  <h1 align="center">Zod</h1>\n</p>\n\nSchemas.';
    expect(await titleOf('/pkgs/zod/README.md', zod)).toBe('Zod');
    const pdf =
      '<a href="https://x">\n<h1 align="center">\n<img alt="pdf-lib" src="logo.svg">\n</h1>\n</a>\n\nCreate PDFs.';
    expect(await titleOf('/pkgs/pdf-lib/README.md', pdf)).toBe('pdf-lib');
    const fastify = '<div align="center"><img src="landscape.svg" /></div>\n\nFast and low overhead web framework.';
    expect(await titleOf('/pkgs/fastify/README.md', fastify)).toBe('fastify');
    expect(await titleOf('/notes/travel.md', 'The ferry leaves at nine.')).toBe('travel');
    // Front matter, as static site generators write it: its title, or the first heading after it.
    expect(await titleOf('/site/a.md', '---\ntitle: "Getting started"\nlayout: page\n---\n\nText.')).toBe(
      'Getting started',
    );
    expect(await titleOf('/site/b.md', '---\nlayout: page\n---\n\n# Install\n\nText.')).toBe('Install');
  });

  it("drops a generated page's permalink sign from its headings", async () => {
    const page =
      '<html><head><title>Policy</title></head><body><h2>Packaging¶</h2><p>Each package has one maintainer.</p></body></html>';
    const { text } = await extractDocument('/docs/policy.html', new TextEncoder().encode(page));
    expect(text).toContain('## Packaging\n');
    expect(text).not.toContain('¶');
  });
});
