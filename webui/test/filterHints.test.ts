import { describe, expect, it } from 'vitest';
import { filterHints, quoteKey } from '../src/lib/filterHints';

const keys = { metrics: ['accuracy', 'val loss', 'acc_top5'], params: ['lr', 'optimizer'], tags: ['mlflow.user', 'stage'] };
const at = (t: string) => filterHints(t, t.length, keys);
const labels = (t: string) => at(t).hints.map((h) => h.label);

describe('filter hints', () => {
  it('offers the prefixes on an empty box', () => {
    expect(labels('')).toEqual(['metrics.', 'params.', 'tags.', 'attributes.']);
  });
  it('completes a prefix', () => {
    expect(labels('me')).toEqual(['metrics.']);
    expect(labels('pa')).toEqual(['params.']);
  });
  it('completes metric keys, quoting keys with spaces', () => {
    const r = at('metrics.acc');
    expect(r.hints.map((h) => h.insert)).toEqual(['metrics.accuracy', 'metrics.acc_top5']);
    expect(r.from).toBe(0);
    expect(at('metrics.val').hints[0].insert).toBe('metrics.`val loss`');
  });
  it('completes inside an open backtick', () => {
    const r = at('metrics.`val l');
    expect(r.hints.map((h) => h.insert)).toEqual(['metrics.`val loss`']);
    expect(r.from).toBe(0);
  });
  it('completes the word under the cursor in the middle of a filter', () => {
    const t = "params.optimizer = 'adam' and metrics.ac > 0.5";
    const cursor = t.indexOf(' > ');
    const r = filterHints(t, cursor, keys);
    expect(r.from).toBe(t.indexOf('metrics.ac'));
    expect(r.to).toBe(cursor);
    expect(r.hints[0].insert).toBe('metrics.accuracy');
  });
  it('accepts singular prefixes and tag keys with dots', () => {
    expect(at('tag.mlflow').hints[0].insert).toBe('tags.`mlflow.user`');
    expect(at('param.l').hints[0].insert).toBe('params.lr');
  });
  it('finds bare key names under their kind', () => {
    expect(labels('optim')).toEqual(['params.optimizer']);
    expect(labels('stat')).toEqual(['attributes.status']);
  });
  it('suggests status values', () => {
    expect(labels("attributes.status = 'F")).toEqual(['FINISHED', 'FAILED']);
    const r = at("attributes.status = 'F");
    expect(r.hints[0].insert).toBe("'FINISHED'");
    expect(r.from).toBe('attributes.status = '.length);
  });
  it('suggests "and" after a complete comparison', () => {
    expect(labels("params.lr = '0.1' ")).toEqual(['and']);
    expect(labels('metrics.accuracy > 0.5 ')).toEqual(['and']);
  });
  it('says nothing for an unknown prefix', () => {
    expect(labels('foo.bar')).toEqual([]);
  });
  it('quotes only non-identifiers', () => {
    expect(quoteKey('lr')).toBe('lr');
    expect(quoteKey('a.b')).toBe('`a.b`');
    expect(quoteKey('1x')).toBe('`1x`');
  });
});
