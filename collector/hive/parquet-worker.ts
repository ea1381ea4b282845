/** The worker thread that writes a load's Parquet files (parquet-thread.ts starts it). */
import { parentPort } from "node:worker_threads";
import { type ParquetJobs, writeParquet } from "./parquet-write.js";

parentPort?.on("message", (message: { id: number; jobs: ParquetJobs }) => {
  try {
    const files = writeParquet(message.jobs);
    parentPort?.postMessage(
      { id: message.id, files },
      files.map((f) => f.buffer as ArrayBuffer),
    );
  } catch (error) {
    parentPort?.postMessage({ id: message.id, error: String((error as Error).stack ?? error) });
  }
});
