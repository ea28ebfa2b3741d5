import { describe, expect, it } from 'vitest';
import { renderMarkdown, escapeHtml } from '../src/lib/markdown';
import { parseCsv } from '../src/lib/csv';
import { fmtDuration, fmtNumber } from '../src/lib/format';

describe('markdown', () => {
  it('escapes raw HTML', () => {
    const html = renderMarkdown('hi <script>alert(1)</script> <img src=x onerror=alert(1)>');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;');
  });
  it('renders headings, emphasis, lists, code and links', () => {
    const html = renderMarkdown('# Title\n\nsome **bold** and *it* `x<y`\n\n- a\n- b\n\n```\n<b>\n```\n\n[docs](https://x.org/a?b=1&c=2)');
    expect(html).toContain('<h1>Title</h1>');
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('<em>it</em>');
    expect(html).toContain('<code>x&lt;y</code>');
    expect(html).toContain('<ul><li>a</li><li>b</li></ul>');
    expect(html).toContain('<pre><code>&lt;b&gt;</code></pre>');
    expect(html).toContain('href="https://x.org/a?b=1&amp;c=2"');
  });
  it('drops javascript: links', () => {
    const html = renderMarkdown('[x](javascript:alert(1)) [y](JaVaScRiPt:alert(1))');
    expect(html.toLowerCase()).not.toContain('javascript:');
  });
  it('cannot break out of an attribute', () => {
    const html = renderMarkdown('[x](https://a.b/"onmouseover="alert(1))');
    expect(html).not.toContain('"onmouseover');
  });
  it('escapeHtml escapes quotes', () => {
    expect(escapeHtml(`<"'&>`)).toBe('&lt;&quot;&#39;&amp;&gt;');
  });
});

describe('csv', () => {
  it('parses quotes, escaped quotes and newlines', () => {
    expect(parseCsv('a,b\n"x, y","he said ""hi"""\n"multi\nline",2\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'he said "hi"'],
      ['multi\nline', '2'],
    ]);
  });
  it('handles TSV and CRLF and a row limit', () => {
    expect(parseCsv('a\tb\r\n1\t2\r\n3\t4', '\t', 2)).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });
});

describe('format', () => {
  it('formats durations and numbers', () => {
    expect(fmtDuration(1500)).toBe('1.5s');
    expect(fmtDuration(3_723_000)).toBe('1h 2min');
    expect(fmtNumber(0.123456789)).toBe('0.123457');
    expect(fmtNumber(NaN)).toBe('NaN');
    expect(fmtNumber(1e-7)).toBe('1.0000e-7');
  });
});
