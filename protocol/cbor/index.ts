export { encode, compareBytes } from './encode';
export { decode, type DecodeOptions } from './decode';
export { CborError, Tagged, type CborValue, type CborReason } from './types';
