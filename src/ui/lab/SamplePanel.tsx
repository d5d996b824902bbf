/**
 * Sampling: a prompt, temperature, top-k, top-p and length; the text streams in token by token.
 * Works while training (on the current weights, sharing the GPU with it: the panel says so) and
 * after; "compare" also samples the run's initial weights, for the post's before/after view.
 * "Show tokens" shows how the prompt and the output were split into tokens (the worker sends them).
 */
import { useId, useState } from 'react';
import { appLabStore, useLabStore } from './browser-lab';
import { isBusy, type SampleState } from './lab-store';
import { NumberField } from './NumberField';
import { TokenChips } from './TokenChips';

export const DEFAULT_PROMPT = 'life is about';

export function SamplePanel() {
  const [prompt, setPrompt] = useState(DEFAULT_PROMPT);
  const [temperature, setTemperature] = useState(0.8);
  const [topK, setTopK] = useState(40);
  const [topP, setTopP] = useState(1);
  const [maxTokens, setMaxTokens] = useState(60);
  const [compare, setCompare] = useState(false);
  const [shownPrompt, setShownPrompt] = useState('');
  const [showTokens, setShowTokens] = useState(false);
  const training = useLabStore((s) => isBusy(s.phase) && s.phase !== 'preparing');
  const promptId = useId();
  const samples = useLabStore((s) => s.samples);
  const run = useLabStore((s) => s.run);
  const hasRuns = useLabStore((s) => s.runs.length > 0);
  const running = samples.current.status === 'running' || samples.initial.status === 'running';
  const valid =
    prompt.length > 0 &&
    temperature >= 0 &&
    Number.isInteger(maxTokens) &&
    maxTokens > 0 &&
    topK >= 0 &&
    topP > 0 &&
    topP <= 1;

  const onGenerate = () => {
    setShownPrompt(prompt);
    appLabStore()
      .getState()
      .generate({
        prompt,
        temperature,
        maxTokens,
        topK: topK > 0 ? topK : undefined,
        topP: topP < 1 ? topP : undefined,
        compare,
      });
  };

  return (
    <section className="card" aria-labelledby="sample-title">
      <h3 id="sample-title">Sample</h3>
      <div className="field">
        <label htmlFor={promptId}>Prompt</label>
        <textarea id={promptId} rows={2} value={prompt} onChange={(e) => setPrompt(e.target.value)} />
      </div>
      <div className="field-grid">
        <NumberField label="Temperature" value={temperature} onChange={setTemperature} hint="0 is greedy" />
        <NumberField label="Top-k" value={topK} onChange={setTopK} hint="0 is off" />
        <NumberField label="Top-p" value={topP} onChange={setTopP} hint="1 is off" />
        <NumberField label="Max tokens" value={maxTokens} onChange={setMaxTokens} />
      </div>
      <label className="choice">
        <input type="checkbox" checked={compare} onChange={(e) => setCompare(e.target.checked)} /> Compare with the
        untrained model (before / after)
      </label>
      <label className="choice">
        <input type="checkbox" checked={showTokens} onChange={(e) => setShowTokens(e.target.checked)} /> Show tokens
        (how the prompt and the output are split; ids on hover)
      </label>
      {training && (
        <p className="muted sample-hint">
          Sampling now shares the GPU with training, so tokens come slowly (often about one a second): pause the run for
          full speed.
        </p>
      )}
      <div className="actions">
        <button type="button" onClick={onGenerate} disabled={running || !valid || (!run && !hasRuns)}>
          Generate
        </button>
        {!run && !hasRuns && <span className="muted">Train a model first.</span>}
        {!valid && (
          <span className="muted">Temperature ≥ 0, top-k ≥ 0, 0 &lt; top-p ≤ 1 and a whole number of tokens.</span>
        )}
      </div>
      <div className={samples.initial.status !== 'idle' ? 'samples compare' : 'samples'}>
        {samples.initial.status !== 'idle' && (
          <SampleBox
            title="Before training (initial weights)"
            label="Initial sample output"
            sample={samples.initial}
            prompt={shownPrompt}
            showTokens={showTokens}
          />
        )}
        <SampleBox
          title={samples.initial.status !== 'idle' ? 'After training (current weights)' : 'Output'}
          label="Sample output"
          sample={samples.current}
          prompt={shownPrompt}
          showTokens={showTokens}
        />
      </div>
    </section>
  );
}

function SampleBox({
  title,
  label,
  sample,
  prompt,
  showTokens,
}: {
  title: string;
  label: string;
  sample: SampleState;
  prompt: string;
  showTokens: boolean;
}) {
  const tokens =
    showTokens && sample.status === 'done' && sample.outputTokens
      ? { prompt: sample.promptTokens ?? [], output: sample.outputTokens }
      : null;
  return (
    <div className="sample">
      <h4>{title}</h4>
      {tokens ? (
        <TokenChips prompt={tokens.prompt} output={tokens.output} label={`${label} as tokens`} />
      ) : (
        <output aria-label={label} aria-live="polite" className="sample-text">
          {sample.status !== 'idle' && <span className="prompt-echo">{prompt}</span>}
          {sample.text}
          {sample.status === 'running' && <span className="cursor">▍</span>}
        </output>
      )}
      {showTokens && sample.status === 'running' && <p className="muted">The tokens show once the sample ends.</p>}
      {sample.status === 'done' && (
        <p className="muted">
          {sample.tokens} tokens in {sample.seconds.toFixed(2)} s
        </p>
      )}
      {sample.status === 'error' && <p className="muted error-text">{sample.error}</p>}
    </div>
  );
}
