/**
 * The few WebHDFS calls hostflow makes (list, mkdirs, rename, delete), over node:http: the DataNode answers a
 * redirected write with an unsolicited `100 Continue` that fetch (undici) rejects, so the
 * client that will write files too stays on node:http.
 */
import http from "node:http";
import { HostflowError } from "../errors.js";

export interface FileStatus {
  pathSuffix: string;
  type: "FILE" | "DIRECTORY" | "SYMLINK";
  length: number;
}

export interface WebHdfsOptions {
  /** `http://namenode:9870` (WEBHDFS_URL). */
  url: string;
  /** Simple authentication's `user.name`. */
  user: string;
  timeoutMs?: number;
}

export class WebHdfs {
  constructor(private readonly options: WebHdfsOptions) {}

  /** The entries of a directory, or undefined when it does not exist. */
  async list(path: string): Promise<FileStatus[] | undefined> {
    const { status, body } = await this.call("GET", path, "LISTSTATUS");
    if (status === 404) return undefined;
    this.check(status, body, "LISTSTATUS", path);
    return (JSON.parse(body) as { FileStatuses: { FileStatus: FileStatus[] } }).FileStatuses
      .FileStatus;
  }

  /** Makes a directory and its parents (like mkdir -p); true when it exists afterwards. */
  async mkdirs(path: string): Promise<boolean> {
    const { status, body } = await this.call("PUT", path, "MKDIRS");
    this.check(status, body, "MKDIRS", path);
    return (JSON.parse(body) as { boolean: boolean }).boolean;
  }

  /** Deletes a file or a directory tree; false when there was nothing. */
  async delete(path: string, recursive = true): Promise<boolean> {
    const { status, body } = await this.call("DELETE", path, "DELETE", { recursive });
    this.check(status, body, "DELETE", path);
    return (JSON.parse(body) as { boolean: boolean }).boolean;
  }

  /** Moves a file or directory; false when the NameNode refused (e.g. no such source). */
  async rename(from: string, to: string): Promise<boolean> {
    const { status, body } = await this.call("PUT", from, "RENAME", { destination: to });
    this.check(status, body, "RENAME", from);
    return (JSON.parse(body) as { boolean: boolean }).boolean;
  }

  private check(status: number, body: string, op: string, path: string): void {
    if (status >= 200 && status < 300) return;
    throw new HostflowError(
      "HF_HDFS",
      `WebHDFS at ${this.options.url} answered ${op} ${path} with HTTP ${status}: ${body.slice(0, 300)}`,
      { retriable: status >= 500, context: { op, path, status } },
    );
  }

  private call(
    method: string,
    path: string,
    op: string,
    params: Record<string, string | boolean> = {},
  ): Promise<{ status: number; body: string }> {
    const url = new URL(`/webhdfs/v1${path.startsWith("/") ? path : `/${path}`}`, this.options.url);
    url.searchParams.set("op", op);
    url.searchParams.set("user.name", this.options.user);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, String(value));
    return new Promise((resolve, reject) => {
      const request = http.request(url, { method, timeout: this.options.timeoutMs ?? 30_000 });
      request.on("timeout", () => request.destroy(new Error("timed out")));
      request.on("error", (cause) =>
        reject(
          new HostflowError(
            "HF_HDFS",
            `WebHDFS at ${this.options.url} did not answer ${op} ${path}: ${cause.message}`,
            { retriable: true, cause, context: { op, path } },
          ),
        ),
      );
      request.on("response", (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.end();
    });
  }
}
