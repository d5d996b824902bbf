/** Which lab section is shown: a store of its own, so the Plan tab can switch to Train. */
import { useStore } from 'zustand';
import { createStore } from 'zustand/vanilla';

export interface NavState {
  section: string;
  show(section: string): void;
}

export const navStore = createStore<NavState>()((set) => ({
  section: 'train',
  show: (section) => set({ section }),
}));

export function useSection(): string {
  return useStore(navStore, (s) => s.section);
}
