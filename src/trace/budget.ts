/**
 * The bytes every recorded trace holds in memory at once, shared by one server's connections
 * (`record.maxTotalBytes`). A trace reserves bytes as it grows and gives them back once it is
 * written, so many recorded connections cannot together outgrow the bound that each respects.
 */
export const DEFAULT_MAX_TOTAL_TRACE_BYTES = 64 * 1024 * 1024;

export interface TraceBudget {
  /** Takes `bytes` if they fit; false (and nothing taken) when they do not. */
  reserve(bytes: number): boolean;
  release(bytes: number): void;
  /** Bytes currently taken. */
  readonly used: number;
}

export function traceBudget(maxBytes: number): TraceBudget {
  let used = 0;
  return {
    reserve(bytes) {
      if (used + bytes > maxBytes) return false;
      used += bytes;
      return true;
    },
    release(bytes) {
      used = Math.max(0, used - bytes);
    },
    get used() {
      return used;
    },
  };
}
