/**
 * How a hostflow program reaches Kafka: the options the agent's kafka sink and the collector
 * share, so that brokers, TLS and SASL read the same in both configs (and in their docs).
 */
import { type Static, Type } from "@sinclair/typebox";
import type { ConfigPath } from "./issues.js";
import { isRecord } from "./schema-walk.js";
import { Duration, Strict } from "./types.js";
import type { IssueSpec } from "./yaml.js";

/**
 * A request's `timeout` is what the broker waits (for acks, for fetch data); the client waits a
 * little longer, so that a broker that answers in time is not cut off first.
 */
export const CLIENT_TIMEOUT_MARGIN_MS = 5_000;

/** The connection options, to spread into a component's schema; clientId is its default client id. */
export function kafkaConnection(clientId: string) {
  return {
    brokers: Type.Array(Type.String({ pattern: "^[^:\\s]+:\\d+$", description: "host:port" }), {
      minItems: 1,
      description: "bootstrap brokers, host:port",
      examples: [["kafka-1:9092", "kafka-2:9092"]],
    }),
    client_id: Type.String({ default: clientId, description: "Kafka client id" }),
    request_timeout: Duration({
      default: "30s",
      description: "time a broker has to answer a request",
    }),
    connection_timeout: Duration({
      default: "10s",
      description: "time to open a connection to a broker",
    }),
    tls: Type.Optional(
      Strict(
        {
          enabled: Type.Boolean({ default: true, description: "use TLS" }),
          ca_file: Type.Optional(Type.String({ description: "PEM file of the CA(s) to trust" })),
          cert_file: Type.Optional(Type.String({ description: "PEM client certificate" })),
          key_file: Type.Optional(Type.String({ description: "PEM client key" })),
          reject_unauthorized: Type.Boolean({
            default: true,
            description: "refuse brokers whose certificate does not verify",
          }),
        },
        { description: "TLS to the brokers" },
      ),
    ),
    sasl: Type.Optional(
      Strict(
        {
          mechanism: Type.Union(
            [Type.Literal("plain"), Type.Literal("scram-sha-256"), Type.Literal("scram-sha-512")],
            { description: "the SASL mechanism the brokers accept" },
          ),
          username: Type.String({ description: "the SASL user" }),
          password: Type.Optional(
            Type.String({ description: "prefer ${ENV_VAR} or password_file to a literal" }),
          ),
          password_file: Type.Optional(
            Type.String({ description: "a file whose content (trimmed) is the password" }),
          ),
        },
        { description: "SASL authentication; give password or password_file" },
      ),
    ),
  };
}

const KafkaConnection = Strict(kafkaConnection(""));
export type KafkaConnectionConfig = Static<typeof KafkaConnection>;

/** What the schema cannot say about kafkaConnection(): SASL and TLS settings that go together. */
export function checkKafkaConnection(
  sink: Record<string, unknown>,
  at: ConfigPath,
  report: (spec: IssueSpec) => void,
): void {
  const sasl = sink.sasl;
  if (isRecord(sasl)) {
    const password = sasl.password !== undefined;
    const file = sasl.password_file !== undefined;
    if (password === file) {
      report({
        kind: password ? "conflict" : "missing_key",
        path: [...at, "sasl"],
        at: "key",
        message: password
          ? "password and password_file are both given"
          : 'missing key "password" or "password_file"',
        hint: password
          ? "give one of them"
          : "give password_file, or password: ${ENV_VAR} rather than a literal",
      });
    }
  }
  const tls = sink.tls;
  if (isRecord(tls) && (tls.cert_file === undefined) !== (tls.key_file === undefined)) {
    const missing = tls.cert_file === undefined ? "cert_file" : "key_file";
    report({
      kind: "missing_key",
      path: [...at, "tls"],
      at: "key",
      message: `missing key ${JSON.stringify(missing)}`,
      hint: "a client certificate needs both cert_file and key_file",
    });
  }
}
