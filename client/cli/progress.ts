import { formatBytes, formatDuration } from "./output.ts";

/**
 * An upload progress bar on stderr: bytes, rate and ETA. On a terminal it redraws one line a few
 * times a second; elsewhere (logs, CI) it prints a line every few seconds and a summary at the end.
 */
export class ProgressBar {
  private sent = 0;
  private readonly started = Date.now();
  private lastDraw = 0;
  private readonly samples: { at: number; sent: number }[] = [];
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    /** Bytes already uploaded by an earlier run (resume): counted as done, not in the rate. */
    private readonly already = 0,
  ) {
    this.tty = Boolean(stream.isTTY);
    this.sent = already;
    // Off a terminal the first line comes after a few seconds: short uploads print only the summary.
    if (!this.tty) this.lastDraw = this.started;
    this.samples.push({ at: this.started, sent: already });
  }

  add(delta: number): void {
    this.sent = Math.max(0, Math.min(this.total, this.sent + delta));
    const now = Date.now();
    if (now - this.lastDraw >= (this.tty ? 100 : 5000)) {
      this.lastDraw = now;
      this.samples.push({ at: now, sent: this.sent });
      while (this.samples.length > 2 && now - (this.samples[0]?.at ?? now) > 5000) this.samples.shift();
      this.draw(false);
    }
  }

  finish(): void {
    this.sent = this.total;
    this.draw(true);
  }

  /** Leaves the bar as it is (an error follows on the next line). */
  abandon(): void {
    if (this.tty) this.stream.write("\n");
  }

  private rate(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at === first.at) {
      const seconds = (Date.now() - this.started) / 1000;
      return seconds > 0 ? (this.sent - this.already) / seconds : 0;
    }
    return (last.sent - first.sent) / ((last.at - first.at) / 1000);
  }

  private draw(final: boolean): void {
    const fraction = this.total === 0 ? 1 : this.sent / this.total;
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const amount = `${formatBytes(this.sent)}/${formatBytes(this.total)}`;
    if (final) {
      const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
      const rate = (this.total - this.already) / seconds;
      const line = `${this.label} ${formatBytes(this.total)} uploaded in ${seconds.toFixed(1)} s (${formatBytes(rate)}/s)`;
      this.stream.write(this.tty ? `\r\u001b[2K${line}\n` : `${line}\n`);
      return;
    }
    const rate = this.rate();
    const eta = rate > 0 ? formatDuration((this.total - this.sent) / rate) : "--:--";
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
    const line = `${this.label} ${bar} ${percent} ${amount} ${formatBytes(rate)}/s ETA ${eta}`;
    this.stream.write(this.tty ? `\r\u001b[2K${line}` : `${line}\n`);
  }
}
