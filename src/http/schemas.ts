import { z } from 'zod';

/** Identifiers appear in URLs and workflow ids: a safe, bounded alphabet keeps both readable and unambiguous. */
export const key = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/, 'must be 1-100 letters, digits, _ . or -');
export const id = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/, 'must be 1-128 letters, digits, _ . : or -');
export const timestamp = z.iso.datetime({ offset: true });

