/**
 * Containers (pure): `--container-image` (pyxis/enroot: srun runs each step inside the image) and
 * `--container-cmd` (a wrapper such as `apptainer exec --nv IMAGE` put before the agent's and the
 * entrypoint's argv). The wrapper is split into words here, once, as a POSIX shell would split it
 * (quotes and backslashes), and never goes through a shell again: each word is quoted where the
 * script shows it (src/render/quote.ts).
 */
import { UsageError } from './errors.js';
import type { ContainerPlan } from './types.js';

/** Characters a shell would treat as operators or expansions: raysl runs no shell, so they are refused unquoted. */
const SHELL_META = /[;&|<>()$`*?[\]{}~#]/;

/** Splits a command line into words the way sh does for quotes and backslashes (no expansions). */
export function shellWords(line: string, what = '--container-cmd'): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const bad = (expected: string, hint: string) =>
    new UsageError(`${what}: expected ${expected}, received ${JSON.stringify(line)}`, { hint });
  while (i < line.length) {
    const c = line[i] as string;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw bad('matched single quotes', "close the ' quote");
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw bad('matched double quotes', 'close the " quote');
        const d = line[i] as string;
        if (d === '"') break;
        if (d === '\\' && i + 1 < line.length && '\\"$`'.includes(line[i + 1] as string)) {
          word += line[i + 1];
          i += 2;
          continue;
        }
        if (d === '$' || d === '`')
          throw bad('no expansions ($, `)', 'raysl runs the wrapper without a shell: write the value itself');
        word += d;
        i++;
      }
      inWord = true;
      i++;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw bad('a character after \\', 'remove the trailing backslash');
      word += line[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (SHELL_META.test(c)) {
      throw bad(
        `plain words (no shell operators or expansions like ${JSON.stringify(c)})`,
        'raysl runs the wrapper without a shell: quote the character, or put the logic in a wrapper script',
      );
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  if (words.length === 0)
    throw bad('a command, e.g. "apptainer exec --nv image.sif"', 'drop --container-cmd or give the wrapper command');
  if ((words[0] as string).startsWith('-'))
    throw bad('a program first, not an option', 'e.g. --container-cmd "apptainer exec --nv image.sif"');
  if (words.some((w) => w.includes('\0'))) throw bad('no NUL bytes', 'remove the NUL byte');
  return words;
}

/** An image as pyxis takes it: `nvcr.io#nvidia/pytorch:24.01-py3`, `docker://...`, or a squashfs path. */
export function parseContainerImage(raw: string, what = '--container-image'): string {
  const v = raw.trim();
  if (v === '' || /[\s,\0]/.test(v) || v.startsWith('-')) {
    throw new UsageError(
      `${what}: expected one image reference without spaces or commas, received ${JSON.stringify(raw)}`,
      {
        hint: 'e.g. --container-image nvcr.io#nvidia/pytorch:24.01-py3 or --container-image /shared/images/train.sqsh',
      },
    );
  }
  return v;
}

/** One container choice from the two options; both at once is a usage error. */
export function containerPlan(image: string | undefined, cmd: string[] | undefined): ContainerPlan | undefined {
  if (image !== undefined && cmd !== undefined) {
    throw new UsageError('--container-image and --container-cmd both say how to enter a container: received both', {
      hint: 'use --container-image with pyxis/enroot, or --container-cmd "apptainer exec ..." for apptainer/podman, not both',
    });
  }
  if (image !== undefined) return { image };
  if (cmd !== undefined) return { cmd: [...cmd] };
  return undefined;
}

/** The wrapper words before a command (none without --container-cmd). */
export function wrapperPrefix(container: ContainerPlan | undefined): string[] {
  return container !== undefined && 'cmd' in container ? [...container.cmd] : [];
}

/**
 * pyxis's srun flags for one step: the image, and the host paths raysl needs inside it, each at the
 * same path (the job dir, node-local scratch where the runtime's temp dir lives, raysl's own install).
 * Host networking is pyxis's default (enroot makes no network namespace), so ports and addresses stay
 * as planned. Paths that contain a comma or colon cannot be written in --container-mounts.
 */
export function pyxisFlags(image: string, mounts: readonly string[]): string[] {
  const unique = [...new Set(mounts.map((m) => m.replace(/\/+$/, '') || '/'))];
  for (const m of unique) {
    if (/[,:]/.test(m)) {
      throw new UsageError(
        `--container-image: cannot mount ${JSON.stringify(m)} (pyxis's --container-mounts separates paths with , and :)`,
        {
          hint: 'use a job dir, TMPDIR and raysl install path without commas or colons',
        },
      );
    }
  }
  return [`--container-image=${image}`, `--container-mounts=${unique.map((m) => `${m}:${m}`).join(',')}`];
}
