/** @openpgp/seek-bzip (CommonJS, no bundled types): what codecs/checked.ts uses. */
declare module '@openpgp/seek-bzip' {
  const Bunzip: { decode(input: Uint8Array): Uint8Array };
  export default Bunzip;
}
