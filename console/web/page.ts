// What every page gets: the live feed and what the server said about itself.
import type { Feed } from './feed.ts';

export interface Meta {
  broker: string;
  trust: boolean;
  history: boolean;
  rollouts: boolean;
  fields: { name: string; unit: string; label: string }[];
}

export interface Context {
  feed: Feed;
  meta: Meta;
}

/** Mounts a page into `root`; returns its cleanup. */
export type Page = (root: HTMLElement, ctx: Context, arg?: string) => () => void;
