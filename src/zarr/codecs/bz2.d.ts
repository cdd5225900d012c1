/** The bz2 package (SheetJS, CommonJS, no bundled types): what codecs/checked.ts uses. */
declare module 'bz2' {
  const bz2: { decompress(data: Uint8Array, checkCRC?: boolean): Uint8Array };
  export default bz2;
}
