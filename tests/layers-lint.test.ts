/** The package graph is enforced by lint (scripts/eslint-layers.js): these imports must be refused or let through. */
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

// The example files exist only as text, outside the TypeScript project, so they are linted without
// types; the layer rule reads import paths, not types.
const eslint = new ESLint({ overrideConfig: tseslint.configs.disableTypeChecked });

async function layerErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'layers/allowed-imports').map((m) => m.message);
}

describe('layering lint', () => {
  it('refuses an upward import, type-only ones included', async () => {
    expect(
      await layerErrors(
        'src/model/example.ts',
        "import { TrainStep } from '../train/step';\nexport const x = TrainStep;\n",
      ),
    ).toEqual([expect.stringMatching(/^model\/example may not import train\/step: the model layer may import only/)]);
    expect(
      await layerErrors(
        'src/data/example.ts',
        "import type { RunRecord } from '../train/run-store';\nexport type X = RunRecord;\n",
      ),
    ).toHaveLength(1);
  });

  it('refuses engine modules with code in the UI, lets the protocol, pure modules and types through', async () => {
    expect(
      await layerErrors(
        'src/ui/lab/example.ts',
        "import { Trainer } from '../../train/trainer';\nexport const y = Trainer;\n",
      ),
    ).toEqual([expect.stringMatching(/^the UI may not import train\/trainer/)]);
    expect(
      await layerErrors(
        'src/ui/lab/example.ts',
        "import { GPTModel } from '../../model/gpt';\nexport const y = GPTModel;\n",
      ),
    ).toHaveLength(1);
    const allowed = [
      "import { nextRequestId } from '../../train/protocol';",
      "import { paramCount } from '../../model/hf';",
      "import type { TrainRequest } from '../../data/tokenizer-worker';",
      'export const z = [nextRequestId, paramCount];',
      'export type R = TrainRequest;',
    ].join('\n');
    expect(await layerErrors('src/ui/lab/example.ts', allowed)).toEqual([]);
  });

  it('lets a layer import the layers below it and shaders', async () => {
    const code =
      "import { Graph } from '../autograd/graph';\nimport source from '../../shaders/adamw.wgsl?raw';\nexport const w = [Graph, source];\n";
    expect(await layerErrors('src/optim/example.ts', code)).toEqual([]);
  });
});
