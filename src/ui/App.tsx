/**
 * The lab's shell: a header, the GPU's state and one section at a time (Train first: a first
 * visit needs no choices before pressing Train). The sections are ARIA tabs: one Tab stop, arrow
 * keys, Home and End move between them. The GPU is probed by the lab worker only; the header
 * shows that probe's report from the lab store.
 */
import { useEffect, useRef, type KeyboardEvent, type ReactNode } from 'react';
import { DataPanel } from './data/DataPanel';
import { appDataStore } from './data/data-store';
import { ErrorBoundary } from './ErrorBoundary';
import { appLabStore, useLabStore } from './lab/browser-lab';
import { TrainPanel } from './lab/TrainPanel';
import { appSweepStore } from './plan/browser-plan';
import { navStore, useSection } from './plan/nav-store';
import { PlanTab } from './plan/PlanTab';

/** What the worker's probe found (the page itself never asks for an adapter: one probe, one device). */
function GpuStatus({ onTrainTab }: { onTrainTab: boolean }) {
  const device = useLabStore((s) => s.device);
  if (device.status === 'probing') return <p className="gpu-status">Checking for WebGPU…</p>;
  if (device.status === 'ready') {
    const adapter = device.report?.adapter;
    return (
      <p className="gpu-status ok">WebGPU is available in this browser{adapter ? ` (adapter: ${adapter})` : ''}.</p>
    );
  }
  // The Train tab's own alert gives the reason; elsewhere the header is the only place that says it.
  return (
    <p role="alert" className="gpu-status warn">
      WebGPU is not available here
      {onTrainTab ? ': training is off (the reason is below).' : `: ${device.report?.reason ?? 'training is off.'}`}
    </p>
  );
}

interface Section {
  id: string;
  title: string;
  render(): ReactNode;
}

const SECTIONS: [Section, ...Section[]] = [
  { id: 'train', title: 'Train', render: () => <TrainPanel /> },
  { id: 'data', title: 'Data', render: () => <DataPanel /> },
  { id: 'plan', title: 'Plan', render: () => <PlanTab /> },
];

/** The tab a key moves to from `index` (wrapping, as the ARIA tabs pattern does), or null for other keys. */
function tabForKey(key: string, index: number): number | null {
  const last = SECTIONS.length - 1;
  switch (key) {
    case 'ArrowRight':
      return index === last ? 0 : index + 1;
    case 'ArrowLeft':
      return index === 0 ? last : index - 1;
    case 'Home':
      return 0;
    case 'End':
      return last;
    default:
      return null;
  }
}

export function App() {
  const current = useSection();
  const show = (id: string) => navStore.getState().show(id);
  const tabs = useRef(new Map<string, HTMLButtonElement>());
  useEffect(() => {
    // The header shows the worker's probe whichever tab opens first.
    void appDataStore().getState().init();
    appLabStore().getState().init();
    // A sweep that was running before a reload continues from any tab.
    void appSweepStore().getState().init();
  }, []);
  const section = SECTIONS.find((s) => s.id === current) ?? SECTIONS[0];
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const next = tabForKey(event.key, SECTIONS.indexOf(section));
    const target = next === null ? undefined : SECTIONS[next];
    if (!target) return;
    event.preventDefault();
    show(target.id);
    tabs.current.get(target.id)?.focus();
  };
  return (
    <div className="app">
      <header className="app-header">
        <h1>GPT Garden</h1>
        <p className="tagline">Train a not-so-large GPT from scratch in your browser, on WebGPU.</p>
        <GpuStatus onTrainTab={section.id === 'train'} />
        <nav aria-label="Lab sections">
          {/* Tabs, not buttons: the only button named "Train" is the one that starts training. */}
          <div role="tablist" aria-label="Lab sections" className="tablist" onKeyDown={onKeyDown}>
            {SECTIONS.map((s) => {
              const selected = s.id === section.id;
              return (
                <button
                  key={s.id}
                  ref={(el) => {
                    if (el) tabs.current.set(s.id, el);
                  }}
                  type="button"
                  role="tab"
                  id={`tab-${s.id}`}
                  aria-controls={`panel-${s.id}`}
                  aria-selected={selected}
                  // Roving tabindex: the tab list is one Tab stop, at the selected tab.
                  tabIndex={selected ? 0 : -1}
                  className={selected ? 'nav-item current' : 'nav-item'}
                  onClick={() => show(s.id)}
                >
                  {s.title}
                </button>
              );
            })}
          </div>
        </nav>
      </header>
      <main>
        {SECTIONS.map((s) =>
          s.id === section.id ? (
            <div key={s.id} id={`panel-${s.id}`} role="tabpanel" aria-labelledby={`tab-${s.id}`} className="tabpanel">
              <h2>{s.title}</h2>
              {/* Keyed by section: a panel that failed gets a fresh boundary when shown again. */}
              <ErrorBoundary key={s.id} name={s.title}>
                {s.render()}
              </ErrorBoundary>
            </div>
          ) : (
            // Hidden and empty, so every tab's aria-controls names a panel; only the shown one is mounted.
            <div key={s.id} id={`panel-${s.id}`} role="tabpanel" aria-labelledby={`tab-${s.id}`} hidden />
          ),
        )}
      </main>
    </div>
  );
}
