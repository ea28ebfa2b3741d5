// Live run updates pushed by the server (Server-Sent Events from ajax-api/2.0/aiotrack/live/runs):
// new runs, and runs that logged something or changed status, within about a second. Where the
// stream cannot be opened (an old server, too many watchers, a proxy that buffers), the pages keep
// their own polling.

import { useEffect, useRef } from 'preact/hooks';
import { AIOTRACK, qs } from './api';
import type { Run } from './types';

export interface LiveUpdate {
  runs: Run[];
  new: string[];
  changed: string[];
  reload: boolean;
}

/** Subscribe to live updates of these experiments while `enabled`; returns nothing, calls onUpdate. */
export function useLiveRuns(expIds: string[], enabled: boolean, onUpdate: (u: LiveUpdate) => void) {
  const cb = useRef(onUpdate);
  cb.current = onUpdate;
  const key = expIds.join(',');
  useEffect(() => {
    if (!enabled || expIds.length === 0 || typeof EventSource === 'undefined') return;
    let failures = 0;
    let source: EventSource | null = null;
    let closed = false;
    const open = () => {
      if (closed) return;
      source = new EventSource(AIOTRACK + 'live/runs' + qs({ experiment_id: expIds }));
      source.addEventListener('runs', (e) => {
        failures = 0;
        try {
          cb.current(JSON.parse((e as MessageEvent).data));
        } catch {
          /* a malformed update: the next one or the polling catches up */
        }
      });
      source.onerror = () => {
        // EventSource reconnects by itself; give up after a few failures in a row (polling remains)
        if (++failures >= 5) source?.close();
      };
    };
    open();
    return () => {
      closed = true;
      source?.close();
    };
  }, [key, enabled]);
}
