/**
 * The WebHDFS calls hostflow makes (status, list, mkdirs, create, read, rename, delete, set times),
 * over node:http: the DataNode answers a redirected write with an unsolicited `100 Continue`
 * that fetch (undici) rejects. HttpFS serves the same REST API (its writes are not redirected).
 *
 * Errors are HF_HDFS with the NameNode's own reason (`RemoteException`): transient ones
 * (connection refused, 5xx, safe mode, a standby NameNode) are retriable; a permission refused is
 * HF_WAREHOUSE_DENIED and a quota HF_WAREHOUSE_FULL, neither retriable.
 */
import http from "node:http";
import { HostflowError } from "../errors.js";

export interface FileStatus {
  pathSuffix: string;
  type: "FILE" | "DIRECTORY" | "SYMLINK";
  length: number;
  modificationTime: number;
  owner: string;
  permission: string;
}

export interface WebHdfsOptions {
  /** `http://namenode:9870` (WEBHDFS_URL), or an HttpFS endpoint. */
  url: string;
  /** Simple authentication's `user.name`. */
  user: string;
  timeoutMs?: number;
}

/** Exceptions the NameNode names for a state that passes (retry later). */
/** Also what a NameNode answers over HTTP while its RPC server is still starting or going. */
const TRANSIENT =
  /SafeModeException|RetriableException|StandbyException|ObserverRetryOnActive|could only be written to 0 of the|There are 0 datanode\(s\) running|EOFException|ConnectException|Connection refused|still not started/;

export class WebHdfs {
  constructor(private readonly options: WebHdfsOptions) {}

  get url(): string {
    return this.options.url;
  }

  get user(): string {
    return this.options.user;
  }

  /** A file's or directory's status, or undefined when it does not exist. */
  async status(path: string): Promise<FileStatus | undefined> {
    const { status, body } = await this.call("GET", path, "GETFILESTATUS");
    if (status === 404) return undefined;
    this.check(status, body, "GETFILESTATUS", path);
    return (JSON.parse(body) as { FileStatus: FileStatus }).FileStatus;
  }

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

  /**
   * Writes a whole file (the NameNode redirects to a DataNode, which takes the bytes). The file
   * is complete when this resolves; a failure can leave a partial file at `path`.
   */
  async create(path: string, data: Uint8Array, overwrite = false): Promise<void> {
    const first = await this.call("PUT", path, "CREATE", { overwrite, noredirect: true });
    this.check(first.status, first.body, "CREATE", path);
    // noredirect: the NameNode answers 200 {"Location": …}; HttpFS, which takes the bytes
    // itself, may ignore it and wants `data=true` on a second request.
    let location: string | undefined;
    try {
      location = (JSON.parse(first.body) as { Location?: string }).Location;
    } catch {
      location = undefined;
    }
    const target =
      location !== undefined
        ? new URL(location)
        : this.requestUrl(path, "CREATE", { overwrite, data: true });
    const second = await this.send("PUT", target, "CREATE", path, data);
    this.check(second.status, second.body, "CREATE", path);
  }

  /** A file's content as text (small files: the whole body is held). */
  async read(path: string): Promise<string> {
    return (await this.open(path, {})).body;
  }

  /** `length` bytes of a file from `offset` (fewer at its end), as bytes. */
  async readRange(path: string, offset: number, length: number): Promise<Buffer> {
    return (await this.open(path, { offset, length })).bytes;
  }

  /** OPEN: the NameNode says which DataNode has the bytes; HttpFS answers with them at once. */
  private async open(path: string, params: Record<string, number>): Promise<Answer> {
    const first = await this.call("GET", path, "OPEN", { ...params, noredirect: true });
    this.check(first.status, first.body, "OPEN", path);
    let location: string | undefined;
    try {
      location = (JSON.parse(first.body) as { Location?: string }).Location;
    } catch {
      // HttpFS answers with the content itself
      return first;
    }
    if (location === undefined) return first;
    const second = await this.send("GET", new URL(location), "OPEN", path);
    this.check(second.status, second.body, "OPEN", path);
    return second;
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

  /** Sets a file's modification time (ms since the epoch). */
  async setModificationTime(path: string, ms: number): Promise<void> {
    const { status, body } = await this.call("PUT", path, "SETTIMES", {
      modificationtime: ms,
      accesstime: -1,
    });
    this.check(status, body, "SETTIMES", path);
  }

  private check(status: number, body: string, op: string, path: string): void {
    if (status >= 200 && status < 300) return;
    let exception = "";
    let reason = body.slice(0, 300);
    try {
      const remote = (
        JSON.parse(body) as { RemoteException?: { exception: string; message: string } }
      ).RemoteException;
      if (remote !== undefined) {
        exception = remote.exception;
        reason = `${remote.exception}: ${remote.message.split("\n")[0]}`;
      }
    } catch {
      // not JSON: the body as it is
    }
    const where = `WebHDFS at ${this.options.url} answered ${op} ${path} (user ${this.options.user}) with HTTP ${status}`;
    const context = { op, path, status, exception, user: this.options.user };
    if (/AccessControlException/.test(exception)) {
      throw new HostflowError("HF_WAREHOUSE_DENIED", `${where}: ${reason}`, { context });
    }
    if (/QuotaExceededException/.test(exception)) {
      throw new HostflowError("HF_WAREHOUSE_FULL", `${where}: ${reason}`, { context });
    }
    throw new HostflowError("HF_HDFS", `${where}: ${reason}`, {
      retriable: status >= 500 || TRANSIENT.test(exception) || TRANSIENT.test(body),
      context,
    });
  }

  private requestUrl(
    path: string,
    op: string,
    params: Record<string, string | number | boolean>,
  ): URL {
    // Each segment encoded: a file name may hold `#` or `%`.
    const encoded = (path.startsWith("/") ? path : `/${path}`)
      .split("/")
      .map((segment) => encodeURIComponent(segment))
      .join("/");
    const url = new URL(`/webhdfs/v1${encoded}`, this.options.url);
    url.searchParams.set("op", op);
    url.searchParams.set("user.name", this.options.user);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, String(value));
    return url;
  }

  private call(
    method: string,
    path: string,
    op: string,
    params: Record<string, string | number | boolean> = {},
  ): Promise<Answer> {
    return this.send(method, this.requestUrl(path, op, params), op, path);
  }

  /**
   * One request; sent once more when it went out on a kept-alive connection that the server had
   * closed meanwhile (EPIPE or ECONNRESET on a reused socket: the request never reached it). The
   * fleet bench met it on its first call after a 13-minute compaction.
   */
  private async send(
    method: string,
    url: URL,
    op: string,
    path: string,
    data?: Uint8Array,
  ): Promise<Answer> {
    try {
      return await this.sendOnce(method, url, op, path, data);
    } catch (error) {
      if (!(error instanceof StaleSocket)) throw error;
      return this.sendOnce(method, url, op, path, data, true);
    }
  }

  private sendOnce(
    method: string,
    url: URL,
    op: string,
    path: string,
    data?: Uint8Array,
    retried = false,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const request = http.request(url, {
        method,
        timeout: this.options.timeoutMs ?? 60_000,
        ...(data === undefined
          ? {}
          : {
              headers: {
                "content-type": "application/octet-stream",
                "content-length": data.byteLength,
              },
            }),
      });
      request.on("timeout", () => request.destroy(new Error("timed out")));
      request.on("error", (cause) => {
        const code = (cause as NodeJS.ErrnoException).code;
        if (!retried && request.reusedSocket && (code === "EPIPE" || code === "ECONNRESET")) {
          reject(new StaleSocket());
          return;
        }
        reject(
          new HostflowError(
            "HF_HDFS",
            `WebHDFS at ${url.origin} did not answer ${op} ${path}: ${cause.message}`,
            { retriable: true, cause, context: { op, path } },
          ),
        );
      });
      request.on("response", (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
        });
        response.on("end", () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: response.statusCode ?? 0, body: bytes.toString("utf8"), bytes });
        });
        response.on("error", (cause) =>
          reject(
            new HostflowError(
              "HF_HDFS",
              `WebHDFS at ${url.origin}: ${op} ${path} broke off: ${cause.message}`,
              { retriable: true, cause, context: { op, path } },
            ),
          ),
        );
      });
      request.end(data);
    });
  }
}

/** An answer: its body as text, and as the bytes that came (a file's content). */
interface Answer {
  status: number;
  body: string;
  bytes: Buffer;
}

/** A request that went out on a connection the server had already closed. */
class StaleSocket extends Error {}
