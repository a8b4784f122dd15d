export function chunkNamed(dist: string, name: string): string;
export function closure(...entries: string[]): { files: string[]; bytes: number; sources: string[] };
