/** A window of time [start, end): start inclusive, end exclusive. */
export interface TimeWindow {
  start: number;
  end: number;
}

/** The key of a windowed aggregate: the grouping key and its window. */
export interface Windowed<K> {
  key: K;
  window: TimeWindow;
}

/**
 * Fixed-size, non-overlapping windows aligned to the epoch. A record at exactly a window's
 * end belongs to the next window. A window accepts records until stream time passes its end
 * plus the grace period (0 by default); later records for it are dropped.
 */
export class TimeWindows {
  private constructor(
    readonly sizeMs: number,
    readonly graceMs: number,
  ) {}

  static ofSize(sizeMs: number): TimeWindows {
    if (!(sizeMs > 0)) throw new Error('a window size must be positive');
    return new TimeWindows(sizeMs, 0);
  }

  grace(graceMs: number): TimeWindows {
    if (graceMs < 0) throw new Error('grace must not be negative');
    return new TimeWindows(this.sizeMs, graceMs);
  }

  windowFor(timestamp: number): TimeWindow {
    const start = timestamp - (timestamp % this.sizeMs);
    return { start, end: start + this.sizeMs };
  }

  /** Whether a window still takes records at this stream time. */
  isOpen(window: TimeWindow, streamTime: number): boolean {
    return window.end + this.graceMs > streamTime;
  }

  /** How long the store keeps a window: long enough to answer queries about recent windows. */
  get retentionMs(): number {
    return Math.max(this.sizeMs + this.graceMs, 24 * 60 * 60 * 1000);
  }
}

/**
 * Windows per key that stay open while records keep arriving within the inactivity gap;
 * two sessions merge when a record bridges them.
 */
export class SessionWindows {
  private constructor(
    readonly gapMs: number,
    readonly graceMs: number,
  ) {}

  static withInactivityGap(gapMs: number): SessionWindows {
    if (!(gapMs > 0)) throw new Error('an inactivity gap must be positive');
    return new SessionWindows(gapMs, 0);
  }

  grace(graceMs: number): SessionWindows {
    if (graceMs < 0) throw new Error('grace must not be negative');
    return new SessionWindows(this.gapMs, graceMs);
  }

  /**
   * A session ending at `end` can no longer change once stream time passes end + gap + grace
   * (as in Kafka Streams, which drops a record when its merged session ends before
   * stream time - grace - gap): at exactly end + gap + grace it still takes records.
   */
  isOpen(end: number, streamTime: number): boolean {
    return end + this.gapMs + this.graceMs >= streamTime;
  }

  get retentionMs(): number {
    return Math.max(this.gapMs + this.graceMs, 24 * 60 * 60 * 1000);
  }
}

/**
 * A stream-stream join matches records whose timestamps differ by at most `beforeMs`
 * (other side earlier) or `afterMs` (other side later).
 */
export class JoinWindows {
  private constructor(
    readonly beforeMs: number,
    readonly afterMs: number,
    readonly graceMs: number,
  ) {}

  static ofTimeDifference(differenceMs: number): JoinWindows {
    if (differenceMs < 0) throw new Error('a join window must not be negative');
    return new JoinWindows(differenceMs, differenceMs, 0);
  }

  grace(graceMs: number): JoinWindows {
    return new JoinWindows(this.beforeMs, this.afterMs, graceMs);
  }

  get retentionMs(): number {
    return this.beforeMs + this.afterMs + this.graceMs + 1;
  }
}
