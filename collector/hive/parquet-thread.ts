/**
 * Writes a load's Parquet files in a worker thread, so that the collector keeps consuming while
 * the writer encodes and compresses (on this machine ~60 % of a load's CPU). The columns move to
 * the worker and the files back (transferred, not copied); the rows are read in this thread.
 */
import { Worker } from "node:worker_threads";
import { HostflowError } from "../../lib/errors.js";
import type { LoadUnit } from "./encode.js";
import { type ParquetPart, planParts } from "./parquet.js";
import { type ParquetJobs, transferables } from "./parquet-write.js";
import type { TableSpecs } from "./tables.js";

interface Waiting {
  resolve: (files: Uint8Array[]) => void;
  reject: (error: Error) => void;
}

/**
 * An idle thread does not keep the process alive (it is unref'd between writes), and none starts
 * after close(): a load that a run begins while it ends gets an error, not a thread that nothing
 * terminates (a scheduled collector that then never exits at SIGTERM).
 */
export class ParquetThread {
  private worker: Worker | undefined;
  private closed = false;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();

  /** The files of one attempt at a load, as parquetParts writes them in this thread. */
  async parts(load: LoadUnit, specs: TableSpecs, attempt: string): Promise<ParquetPart[]> {
    const { places, jobs } = planParts(load, specs, attempt);
    const files = await this.write(jobs);
    return places.map((place, i) => ({ ...place, data: files[i] as Uint8Array }));
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private write(jobs: ParquetJobs): Promise<Uint8Array[]> {
    if (this.closed) {
      return Promise.reject(
        new HostflowError(
          "HF_WAREHOUSE",
          "the Parquet writer thread is closed (its run has ended): this load's files are not written",
        ),
      );
    }
    const worker = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, jobs }, transferables(jobs));
    });
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = import.meta.url.endsWith(".ts")
      ? // From the sources (tests, the bench's profile): the worker needs tsx's loader too.
        new Worker(
          `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})` +
            `.then((tsx) => { tsx.register(); ` +
            `return import(${JSON.stringify(new URL("./parquet-worker.ts", import.meta.url).href)}); })`,
          { eval: true },
        )
      : new Worker(new URL("./parquet-worker.js", import.meta.url));
    worker.on("message", (m: { id: number; files?: Uint8Array[]; error?: string }) => {
      const waiting = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) worker.unref();
      if (m.error !== undefined) waiting?.reject(new Error(`writing Parquet failed: ${m.error}`));
      else waiting?.resolve(m.files ?? []);
    });
    const failAll = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
    };
    worker.on("error", (error) => failAll(error));
    worker.on("exit", (code) => {
      if (this.waiting.size > 0) failAll(new Error(`the Parquet writer thread exited (${code})`));
      else if (this.worker === worker) this.worker = undefined;
    });
    this.worker = worker;
    return worker;
  }
}
