/**
 * The only place that touches the protobufjs runtime: a strict reader, and the decode/encode
 * frames every public codec goes through (size limit before parsing, protobufjs errors mapped
 * to {@link DecodeError}, outputs copied out of protobufjs' shared buffers).
 *
 * @module
 */
import { DecodeError, ValidationError } from '@cloister/crypto';
import protobuf from 'protobufjs/minimal.js';

/** Failures detected while protobufjs parses; mapped to a {@link DecodeError} at the root. */
class WireFormatFailure extends Error {}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A protobufjs reader that rejects what Cloister never sends: groups (wire types 3 and 4, the
 * only construct that makes skipping an unknown field recursive) and strings that are not
 * well-formed UTF-8 (protobufjs would otherwise decode them lossily).
 */
class StrictReader extends protobuf.Reader {
  override string(): string {
    const bytes = this.bytes();
    try {
      return fatalUtf8.decode(bytes);
    } catch {
      throw new WireFormatFailure('a string field is not well-formed UTF-8');
    }
  }

  override skipType(wireType: number, depth?: number): protobuf.Reader {
    if (wireType === 3 || wireType === 4) throw new WireFormatFailure('groups are not allowed');
    return super.skipType(wireType, depth);
  }
}

/** How one message type is parsed and converted. */
export interface DecodeSpec<Raw, T> {
  /** Name of the root in error paths, such as `bundle`. */
  readonly root: string;
  /** Largest encoding accepted; longer input is rejected before parsing. */
  readonly maxBytes: number;
  /** The generated protobufjs decoder. */
  readonly parse: (reader: protobuf.Reader) => Raw;
  /** Checks every field and builds the domain object; throws {@link DecodeError} with a path. */
  readonly convert: (raw: Raw, path: string) => T;
}

/**
 * Decodes `input` with `spec`: rejects non-bytes (caller bug), oversize input (before parsing)
 * and anything protobufjs cannot parse, then converts. Throws only {@link DecodeError} for bad
 * bytes.
 */
export function decodeWith<Raw, T>(input: Uint8Array, spec: DecodeSpec<Raw, T>): T {
  if (!(input instanceof Uint8Array)) throw new ValidationError('bytes', 'a Uint8Array');
  if (input.length > spec.maxBytes) {
    throw new DecodeError(spec.root, `at most ${spec.maxBytes} bytes, got ${input.length}`);
  }
  let raw: Raw;
  try {
    raw = spec.parse(new StrictReader(input));
  } catch (e) {
    // protobufjs throws plain Error / RangeError (truncation, bad varint, bad wire type, nesting).
    throw new DecodeError(
      spec.root,
      e instanceof WireFormatFailure ? e.message : 'malformed protobuf encoding',
    );
  }
  return spec.convert(raw, spec.root);
}

/**
 * Encodes an already validated protobufjs plain object and returns a fresh `Uint8Array` (never
 * a view of protobufjs' pooled buffers). Throws {@link ValidationError} when the result exceeds
 * `maxBytes`, so that encode never produces bytes that decode rejects.
 */
export function encodeWith<Raw>(
  raw: Raw,
  root: string,
  maxBytes: number,
  encode: (raw: Raw, writer: protobuf.Writer) => protobuf.Writer,
): Uint8Array {
  const out = new Uint8Array(encode(raw, new protobuf.Writer()).finish());
  if (out.length > maxBytes)
    throw new ValidationError(root, `at most ${maxBytes} bytes encoded, got ${out.length}`);
  return out;
}
