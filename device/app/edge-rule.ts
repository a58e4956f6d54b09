// Edge logic: a rule that drives an output from a sample, on the device, without a server — "if
// the temperature is above 28 °C, run the fan". Sans-I/O: fed the value and the time, it answers
// the output's state; the app writes that to its relay. Hysteresis keeps a value hovering at the
// threshold from chattering the relay (on above `on`, off only below `off`), and a minimum on and
// off time protects the load (a compressor, a pump) from short cycling. A set-output command
// overrides the rule until it is handed back (null). test/edge-rule.test.ts drives it.

export interface EdgeRuleOptions {
  /** The declared field the rule watches (for messages and the app's wiring). */
  field: string;
  /**
   * "above": on when the value rises to `on` or more, off when it falls to `off` or less (cooling,
   * ventilation; on > off). "below": on at `on` or less, off at `off` or more (heating; on < off).
   */
  when: 'above' | 'below';
  on: number;
  off: number;
  /** Least time the output stays on once switched on, ms. Default 0. */
  minOnMs?: number;
  /** Least time it stays off once switched off, ms. Default 0. */
  minOffMs?: number;
}

export type RuleReason = 'rule' | 'hold' | 'manual' | 'no-reading';

export interface RuleDecision {
  on: boolean;
  /** It changed with this decision. */
  changed: boolean;
  /** Why it is in this state: the rule, a minimum time holding it, a command, no value to judge. */
  reason: RuleReason;
}

export class EdgeRule {
  readonly options: Readonly<Required<EdgeRuleOptions>>;
  private state = false;
  /** Clock time of the last switch; -Infinity: never switched, no minimum time applies. */
  private since = -Infinity;
  private manual: boolean | null = null;

  constructor(options: EdgeRuleOptions) {
    const o = { minOnMs: 0, minOffMs: 0, ...options };
    if (!Number.isFinite(o.on) || !Number.isFinite(o.off)) throw new RangeError(`rule on ${o.field}: on and off must be numbers`);
    if (o.when === 'above' ? !(o.on > o.off) : !(o.on < o.off)) {
      throw new RangeError(`rule on ${o.field}: "${o.when}" needs on ${o.when === 'above' ? '>' : '<'} off (the hysteresis band), got on ${o.on}, off ${o.off}`);
    }
    if (!(o.minOnMs >= 0) || !(o.minOffMs >= 0)) throw new RangeError(`rule on ${o.field}: minimum times must be >= 0`);
    this.options = o;
  }

  get on(): boolean {
    return this.state;
  }

  /** A command's override: true/false holds the output so (no minimum time: a person decided); null hands it back. */
  override(on: boolean | null, now: number): RuleDecision {
    this.manual = on;
    if (on === null || on === this.state) return { on: this.state, changed: false, reason: on === null ? 'rule' : 'manual' };
    this.switchTo(on, now);
    return { on, changed: true, reason: 'manual' };
  }

  get overridden(): boolean {
    return this.manual !== null;
  }

  /** Judges one sample's value at clock time `now` (ms, monotonic). null/NaN: no reading, no change. */
  update(value: number | null, now: number): RuleDecision {
    if (this.manual !== null) return { on: this.state, changed: false, reason: 'manual' };
    if (value === null || Number.isNaN(value)) return { on: this.state, changed: false, reason: 'no-reading' };
    const o = this.options;
    const wantOn = o.when === 'above' ? (this.state ? value > o.off : value >= o.on) : this.state ? value < o.off : value <= o.on;
    if (wantOn === this.state) return { on: this.state, changed: false, reason: 'rule' };
    const hold = this.state ? o.minOnMs : o.minOffMs;
    if (now - this.since < hold) return { on: this.state, changed: false, reason: 'hold' };
    this.switchTo(wantOn, now);
    return { on: wantOn, changed: true, reason: 'rule' };
  }

  private switchTo(on: boolean, now: number): void {
    this.state = on;
    this.since = now;
  }
}
