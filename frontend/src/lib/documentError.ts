/** A value that is not a usable attention document; the message says why and where (shown to the person). */
export class DocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DocumentError';
  }
}
