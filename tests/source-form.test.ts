/** The Data tab's source form: the dataset a filled-in form describes, and what it says to fix. */
import { describe, expect, it } from 'vitest';
import { buildIngestInput, initialForm } from '../src/ui/data/source-form';

describe('source form', () => {
  const url = 'http://localhost/corpus/brown-fiction.txt';
  const build = (patch: Partial<typeof initialForm>) => buildIngestInput({ ...initialForm, ...patch }, url);

  it('names datasets after their source', () => {
    expect(build({})).toEqual({
      input: {
        id: 'bundled-brown-fiction',
        name: 'Brown corpus, fiction (bundled)',
        spec: { kind: 'bundled', url },
        maxTokens: undefined,
      },
    });
    expect(build({ choice: 'remote', column: ' text ', tokenLimit: '1000000' })).toEqual({
      input: {
        id: 'bookcorpus/bookcorpus',
        name: 'bookcorpus/bookcorpus',
        spec: { kind: 'hub', dataset: 'bookcorpus/bookcorpus', column: 'text' },
        maxTokens: 1_000_000,
      },
    });
    expect(
      build({ choice: 'remote', remote: 'https://example.org/data/train%20set.parquet?download=1' }),
    ).toMatchObject({
      input: {
        id: 'train set.parquet',
        spec: { kind: 'url', url: 'https://example.org/data/train%20set.parquet?download=1' },
      },
    });
    const files = [
      { name: 'one.txt', blob: new Blob(['abc']) },
      { name: 'two.jsonl', blob: new Blob(['{}']) },
    ];
    expect(build({ choice: 'files', files })).toMatchObject({
      input: {
        id: 'one.txt',
        name: 'one.txt and 1 more',
        spec: {
          kind: 'files',
          files: [
            { name: 'one.txt', size: 3 },
            { name: 'two.jsonl', size: 2 },
          ],
        },
        files,
      },
    });
  });

  it('says what to fix', () => {
    expect(build({ tokenLimit: '-5' })).toEqual({
      error: 'The token limit must be a whole number above 0, or empty for all tokens (got "-5").',
    });
    expect(build({ choice: 'files' })).toEqual({ error: 'Pick or drop at least one .txt, .jsonl or .parquet file.' });
    expect(build({ choice: 'remote', remote: 'not a dataset' })).toEqual({
      error: '"not a dataset" is neither a Hugging Face dataset id (owner/name) nor an http(s) URL.',
    });
  });
});
