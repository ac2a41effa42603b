// PDQ, Meta's perceptual image hash, computed in the browser as the server computes it
// (casework/evidence/images.py: the reference C++ through the pdqhash package), so an
// image kept on the device can still be matched with near-identical images elsewhere.
//
// The arithmetic follows the reference step by step, in 32-bit floats (Math.fround):
// - the picture as the server sees it: EXIF orientation applied, no colour management,
//   shrunk by Pillow's integer box reduction when its long side is 2048 or more, and
//   transparent parts laid on white;
// - luminance 0.299 R + 0.587 G + 0.114 B (computed in doubles, stored as a float);
// - two passes of Jarosz box filters along rows then columns, with the reference window
//   sizes, then decimation to 64x64 at the block centres;
// - quality from the sum of quantised gradients of the 64x64 image;
// - the 16x16 low frequencies of a DCT (16x64 matrix), each bit set when its coefficient
//   is above the median (Torben's method);
// - the 256 bits as 64 hexadecimal digits, most significant 16-bit word first.
//
// window.CaseworkPdq.fromFile(file) resolves to {pdq, quality}, or fails for a file the
// browser cannot decode or one over MAX_PIXELS; fromRgba(rgba, width, height) hashes
// pixels already decoded (RGBA, not premultiplied).
(function () {
  "use strict";

  var f32 = Math.fround;
  var WORKING_SIDE = 1024; // _PDQ_WORKING_SIDE on the server
  // Decoding a picture takes 4 bytes a pixel, twice over: beyond this a phone may give up,
  // so a larger picture gets no PDQ (and is sent with its SHA-256 alone).
  var MAX_PIXELS = 50000000;
  var MIN_HASHABLE_DIM = 5;
  var PASSES = 2;

  var DCT = (function () {
    var matrix = new Float32Array(16 * 64);
    var scale = f32(Math.sqrt(2.0 / 64));
    for (var i = 0; i < 16; i++) {
      for (var j = 0; j < 64; j++) {
        matrix[i * 64 + j] = scale * Math.cos((Math.PI / 2.0 / 64) * (i + 1) * (2 * j + 1));
      }
    }
    return matrix;
  }());

  function windowSize(oldDimension, newDimension) {
    return Math.floor((oldDimension + 2 * newDimension - 1) / (2 * newDimension));
  }

  // One box filter along a vector of `length` values `stride` apart (box1DFloat).
  function box1D(input, output, start, length, stride, fullWindow) {
    var half = Math.floor((fullWindow + 2) / 2);
    var phase1 = half - 1;
    var phase2 = fullWindow - half + 1;
    var phase3 = length - fullWindow;
    var phase4 = half - 1;
    var li = start;
    var ri = start;
    var oi = start;
    var sum = 0;
    var count = 0;
    var i;
    for (i = 0; i < phase1; i++) {
      sum = f32(sum + input[ri]);
      count++;
      ri += stride;
    }
    for (i = 0; i < phase2; i++) {
      sum = f32(sum + input[ri]);
      count++;
      output[oi] = sum / count;
      ri += stride;
      oi += stride;
    }
    for (i = 0; i < phase3; i++) {
      sum = f32(sum + input[ri]);
      sum = f32(sum - input[li]);
      output[oi] = sum / count;
      li += stride;
      ri += stride;
      oi += stride;
    }
    for (i = 0; i < phase4; i++) {
      sum = f32(sum - input[li]);
      count--;
      output[oi] = sum / count;
      li += stride;
      oi += stride;
    }
  }

  // box1D down every column at once, a row at a time (the same sums, in the same order,
  // as one column after another, but reading memory in order).
  function boxColumns(input, output, rows, cols, fullWindow) {
    var half = Math.floor((fullWindow + 2) / 2);
    var phase1 = half - 1;
    var phase2 = fullWindow - half + 1;
    var phase3 = rows - fullWindow;
    var phase4 = half - 1;
    var sums = new Float32Array(cols); // a Float32Array rounds each sum as C's float does
    var li = 0;
    var ri = 0;
    var oi = 0;
    var count = 0;
    var i, c;
    for (i = 0; i < phase1; i++, ri += cols) {
      for (c = 0; c < cols; c++) { sums[c] += input[ri + c]; }
      count++;
    }
    for (i = 0; i < phase2; i++, ri += cols, oi += cols) {
      count++;
      for (c = 0; c < cols; c++) {
        sums[c] += input[ri + c];
        output[oi + c] = sums[c] / count;
      }
    }
    for (i = 0; i < phase3; i++, li += cols, ri += cols, oi += cols) {
      for (c = 0; c < cols; c++) {
        sums[c] += input[ri + c];
        sums[c] -= input[li + c];
        output[oi + c] = sums[c] / count;
      }
    }
    for (i = 0; i < phase4; i++, li += cols, oi += cols) {
      count--;
      for (c = 0; c < cols; c++) {
        sums[c] -= input[li + c];
        output[oi + c] = sums[c] / count;
      }
    }
  }

  function jarosz(buffer1, buffer2, rows, cols, windowAlongRows, windowAlongCols) {
    for (var pass = 0; pass < PASSES; pass++) {
      for (var r = 0; r < rows; r++) { box1D(buffer1, buffer2, r * cols, cols, 1, windowAlongRows); }
      boxColumns(buffer2, buffer1, rows, cols, windowAlongCols);
    }
  }

  function decimate(input, rows, cols) {
    var out = new Float32Array(64 * 64);
    for (var i = 0; i < 64; i++) {
      var ini = Math.floor(((i + 0.5) * rows) / 64);
      for (var j = 0; j < 64; j++) {
        var inj = Math.floor(((j + 0.5) * cols) / 64);
        out[i * 64 + j] = input[ini * cols + inj];
      }
    }
    return out;
  }

  function quality(buffer) {
    var sum = 0;
    var i, j, d;
    for (i = 0; i < 63; i++) {
      for (j = 0; j < 64; j++) {
        d = Math.trunc(f32(f32(f32(buffer[i * 64 + j] - buffer[(i + 1) * 64 + j]) * 100) / 255));
        sum += Math.abs(d);
      }
    }
    for (i = 0; i < 64; i++) {
      for (j = 0; j < 63; j++) {
        d = Math.trunc(f32(f32(f32(buffer[i * 64 + j] - buffer[i * 64 + j + 1]) * 100) / 255));
        sum += Math.abs(d);
      }
    }
    return Math.min(100, Math.floor(sum / 90));
  }

  function dct64To16(a) {
    var t = new Float32Array(16 * 64);
    var b = new Float32Array(16 * 16);
    var i, j, k, sum;
    for (i = 0; i < 16; i++) {
      for (j = 0; j < 64; j++) {
        sum = 0;
        for (k = 0; k < 64; k++) { sum = f32(sum + f32(DCT[i * 64 + k] * a[k * 64 + j])); }
        t[i * 64 + j] = sum;
      }
    }
    for (i = 0; i < 16; i++) {
      for (j = 0; j < 16; j++) {
        sum = 0;
        for (k = 0; k < 64; k++) { sum = f32(sum + f32(t[i * 64 + k] * DCT[j * 64 + k])); }
        b[i * 16 + j] = sum;
      }
    }
    return b;
  }

  function torben(m) {
    var n = m.length;
    var min = m[0];
    var max = m[0];
    var i, less, greater, equal, guess, maxLessThanGuess, minGreaterThanGuess;
    for (i = 1; i < n; i++) {
      if (m[i] < min) { min = m[i]; }
      if (m[i] > max) { max = m[i]; }
    }
    var half = Math.floor((n + 1) / 2);
    for (;;) {
      guess = f32(f32(min + max) / 2);
      less = 0;
      greater = 0;
      equal = 0;
      maxLessThanGuess = min;
      minGreaterThanGuess = max;
      for (i = 0; i < n; i++) {
        if (m[i] < guess) {
          less++;
          if (m[i] > maxLessThanGuess) { maxLessThanGuess = m[i]; }
        } else if (m[i] > guess) {
          greater++;
          if (m[i] < minGreaterThanGuess) { minGreaterThanGuess = m[i]; }
        } else {
          equal++;
        }
      }
      if (less <= half && greater <= half) { break; }
      if (less > greater) { max = maxLessThanGuess; } else { min = minGreaterThanGuess; }
    }
    if (less >= half) { return maxLessThanGuess; }
    if (less + equal >= half) { return guess; }
    return minGreaterThanGuess;
  }

  function toHex(coefficients) {
    var median = torben(coefficients);
    var hex = "";
    for (var word = 15; word >= 0; word--) {
      var value = 0;
      for (var bit = 0; bit < 16; bit++) {
        if (coefficients[word * 16 + bit] > median) { value |= 1 << bit; }
      }
      hex += ("000" + value.toString(16)).slice(-4);
    }
    return hex;
  }

  // PDQ of a luminance image (Float32Array, row-major); the buffer is overwritten.
  function fromLuma(luma, width, height) {
    if (height < MIN_HASHABLE_DIM || width < MIN_HASHABLE_DIM) {
      return { pdq: new Array(65).join("0"), quality: 0 };
    }
    var small;
    if (width === 64 && height === 64) {
      small = luma;
    } else {
      var scratch = new Float32Array(width * height);
      jarosz(luma, scratch, height, width, windowSize(width, 64), windowSize(height, 64));
      small = decimate(luma, height, width);
    }
    return { pdq: toHex(dct64To16(small)), quality: quality(small) };
  }

  // Pillow's Image.reduce(factor) on RGBA: colours premultiplied by alpha, each output
  // pixel the rounded mean of a factor x factor block (smaller blocks at the right and
  // bottom edges), then divided by alpha again.
  function reduceRgba(rgba, width, height, factor) {
    var outWidth = Math.ceil(width / factor);
    var outHeight = Math.ceil(height / factor);
    var out = new Uint8ClampedArray(outWidth * outHeight * 4);
    var sums = new Float64Array(outWidth * 4);
    var ox, c;
    for (var oy = 0; oy < outHeight; oy++) {
      var y0 = oy * factor;
      var y1 = Math.min(height, y0 + factor);
      sums.fill(0);
      for (var y = y0; y < y1; y++) {
        var row = y * width * 4;
        for (var x = 0; x < width; x++) {
          var s = Math.floor(x / factor) * 4;
          var p = row + x * 4;
          var a = rgba[p + 3];
          if (a === 255) {
            sums[s] += rgba[p];
            sums[s + 1] += rgba[p + 1];
            sums[s + 2] += rgba[p + 2];
          } else {
            sums[s] += mulDiv255(rgba[p], a);
            sums[s + 1] += mulDiv255(rgba[p + 1], a);
            sums[s + 2] += mulDiv255(rgba[p + 2], a);
          }
          sums[s + 3] += a;
        }
      }
      for (ox = 0; ox < outWidth; ox++) {
        var count = (Math.min(width, (ox + 1) * factor) - ox * factor) * (y1 - y0);
        var multiplier = Math.trunc(f32(4294967296 / (256 * count)));
        var amend = Math.floor(count / 2);
        var o = (oy * outWidth + ox) * 4;
        for (c = 0; c < 4; c++) {
          out[o + c] = Math.floor(((sums[ox * 4 + c] + amend) * multiplier) / 16777216);
        }
        var alpha = out[o + 3];
        if (alpha !== 255 && alpha !== 0) {
          for (c = 0; c < 3; c++) { out[o + c] = Math.floor((255 * out[o + c]) / alpha); }
        }
      }
    }
    return { rgba: out, width: outWidth, height: outHeight };
  }

  function mulDiv255(value, alpha) {
    var tmp = value * alpha + 128;
    return ((tmp >> 8) + tmp) >> 8;
  }

  // Pillow's paste of an RGBA image onto white through its own alpha, then luminance.
  function lumaOnWhite(rgba, width, height) {
    var luma = new Float32Array(width * height);
    for (var i = 0, p = 0; i < luma.length; i++, p += 4) {
      var r = rgba[p];
      var g = rgba[p + 1];
      var b = rgba[p + 2];
      var a = rgba[p + 3];
      if (a !== 255) {
        r = blend(r, a);
        g = blend(g, a);
        b = blend(b, a);
      }
      luma[i] = r * 0.299 + g * 0.587 + b * 0.114;
    }
    return luma;
  }

  // Pillow's BLEND(mask, in1, in2) with in1 white: (in1 (255 - mask) + in2 mask) / 255, rounded.
  function blend(value, alpha) {
    var tmp = 255 * (255 - alpha) + value * alpha + 128;
    return ((tmp >> 8) + tmp) >> 8;
  }

  function fromRgba(rgba, width, height) {
    var factor = Math.floor(Math.max(width, height) / WORKING_SIDE);
    if (factor > 1) {
      var reduced = reduceRgba(rgba, width, height, factor);
      rgba = reduced.rgba;
      width = reduced.width;
      height = reduced.height;
    }
    return fromLuma(lumaOnWhite(rgba, width, height), width, height);
  }

  function decode(file) {
    return createImageBitmap(file, {
      imageOrientation: "from-image",
      colorSpaceConversion: "none",
      premultiplyAlpha: "none"
    });
  }

  function pixelsOf(bitmap) {
    var width = bitmap.width;
    var height = bitmap.height;
    var canvas;
    if (typeof OffscreenCanvas !== "undefined") {
      canvas = new OffscreenCanvas(width, height);
    } else {
      canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
    }
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0);
    var data = context.getImageData(0, 0, width, height).data;
    canvas.width = 0;
    canvas.height = 0;
    return data;
  }

  function fromFile(file) {
    return decode(file).then(function (bitmap) {
      try {
        if (bitmap.width * bitmap.height > MAX_PIXELS) { throw new RangeError("picture too large"); }
        return fromRgba(pixelsOf(bitmap), bitmap.width, bitmap.height);
      } finally {
        bitmap.close();
      }
    });
  }

  window.CaseworkPdq = { fromFile: fromFile, fromRgba: fromRgba };
}());
