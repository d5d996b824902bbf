/**
 * The package graph, enforced by lint: each folder under src/ may import only the layers below it,
 * type-only imports included, and the UI only the modules listed (the worker protocol and pure
 * helpers) plus types from any engine module (they carry no code). `?raw` shader imports are allowed.
 */
import path from 'node:path';

/** Folder -> the folders it may import from (its own folder is always allowed). */
export const LAYERS = {
  util: [],
  gpu: ['util'],
  autograd: ['gpu', 'util'],
  optim: ['autograd', 'gpu', 'util'],
  model: ['autograd', 'optim', 'gpu', 'util'],
  tokenizer: ['util'],
  data: ['tokenizer', 'util'],
  scaling: ['model', 'util'],
  train: ['scaling', 'data', 'tokenizer', 'model', 'optim', 'autograd', 'gpu', 'util'],
  cli: ['train', 'scaling', 'data', 'tokenizer', 'model', 'optim', 'autograd', 'gpu', 'util'],
  ui: [],
};

/** What the page may import with code: the worker protocol and modules without GPU, storage or worker state. */
export const UI_ALLOWED = [
  'train/protocol',
  'train/defaults',
  'train/micro-batch',
  'train/train-log',
  'model/config',
  'model/hf',
  'optim/schedule',
  'scaling/*',
  'data/types',
  'data/records',
  'data/fingerprint',
  'data/storage',
  'tokenizer/tokenizer-json',
  'util/*',
];

const SRC = path.resolve('src');

/** 'train/step' for src/train/step.ts; null outside src/. */
function moduleOf(file) {
  const rel = path.relative(SRC, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  return rel.replace(/\\/g, '/').replace(/\.(tsx?|js)$/, '');
}

function uiMayImport(target) {
  return UI_ALLOWED.some((allowed) =>
    allowed.endsWith('/*') ? target.startsWith(allowed.slice(0, -1)) : target === allowed,
  );
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports follow the package graph in scripts/eslint-layers.js' },
    schema: [],
    messages: {
      upward:
        '{{from}} may not import {{target}}: the {{fromLayer}} layer may import only {{allowed}} (scripts/eslint-layers.js).',
      ui: 'the UI may not import {{target}}: it talks to the engine through the worker protocol; allowed: {{allowed}} (scripts/eslint-layers.js).',
    },
  },
  create(context) {
    const from = moduleOf(context.filename);
    if (!from || !from.includes('/')) return {};
    const fromLayer = from.split('/')[0];
    if (!(fromLayer in LAYERS)) return {};

    function check(node, source, typeOnly) {
      if (typeof source !== 'string' || !source.startsWith('.') || source.endsWith('?raw')) return;
      const target = moduleOf(path.resolve(path.dirname(context.filename), source));
      if (!target) return;
      const layer = target.split('/')[0];
      if (layer === fromLayer) return;
      if (fromLayer === 'ui') {
        if (layer !== 'ui' && (typeOnly || uiMayImport(target))) return;
        context.report({ node, messageId: 'ui', data: { target, allowed: UI_ALLOWED.join(', ') } });
        return;
      }
      if (LAYERS[fromLayer].includes(layer)) return;
      context.report({
        node,
        messageId: 'upward',
        data: { from, target, fromLayer, allowed: LAYERS[fromLayer].join(', ') || 'nothing' },
      });
    }

    return {
      ImportDeclaration(node) {
        const typeOnly =
          node.importKind === 'type' ||
          (node.specifiers.length > 0 && node.specifiers.every((s) => s.importKind === 'type'));
        check(node, node.source.value, typeOnly);
      },
      ExportNamedDeclaration(node) {
        if (node.source) check(node, node.source.value, node.exportKind === 'type');
      },
      ExportAllDeclaration(node) {
        check(node, node.source.value, node.exportKind === 'type');
      },
      ImportExpression(node) {
        if (node.source.type === 'Literal') check(node, node.source.value, false);
      },
    };
  },
};

export default { rules: { 'allowed-imports': rule } };
