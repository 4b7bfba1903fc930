import { describe, expect, it } from 'vitest';
import { InvalidValue } from '../../mobicli/args.js';
import { parseEnvSetting, parseImageReference, parseNonNegativeInteger, parsePublish, parseSize, parseSubnet, parseVolume } from '../../mobicli/values.js';

const MIB = 1024 ** 2;

describe('mobicli value parsers', () => {
  it('reads memory sizes as docker does: 1024-based, any case, optional b or ib', () => {
    expect(parseSize('16m')).toBe(16 * MIB);
    expect(parseSize('100M')).toBe(100 * MIB);
    expect(parseSize('1g')).toBe(1024 * MIB);
    expect(parseSize('1.5G')).toBe(1.5 * 1024 * MIB);
    expect(parseSize('512MiB')).toBe(512 * MIB);
    expect(parseSize('64kb')).toBe(64 * 1024);
    expect(parseSize('4096')).toBe(4096);
    for (const bad of ['100x', 'm', '', '-1m', '0', '1.2.3m', '10 mbytes']) expect(() => parseSize(bad), bad).toThrow(InvalidValue);
    expect(() => parseSize('100x')).toThrow(/use a number with an optional unit b, k, m or g \(e\.g\. 100m, 1g\)/);
  });

  it('reads published ports with an optional address, host port and protocol', () => {
    expect(parsePublish('80')).toEqual({ hostIp: '', hostPort: '', containerPort: 80, protocol: 'tcp' });
    expect(parsePublish('8080:80')).toEqual({ hostIp: '', hostPort: '8080', containerPort: 80, protocol: 'tcp' });
    expect(parsePublish('127.0.0.1:8080:80')).toEqual({ hostIp: '127.0.0.1', hostPort: '8080', containerPort: 80, protocol: 'tcp' });
    expect(parsePublish('127.0.0.1::80/udp')).toEqual({ hostIp: '127.0.0.1', hostPort: '', containerPort: 80, protocol: 'udp' });
    expect(parsePublish('[::1]:8080:80')).toEqual({ hostIp: '::1', hostPort: '8080', containerPort: 80, protocol: 'tcp' });
    expect(() => parsePublish('99999:80')).toThrow(/port 99999 is not in 1-65535; use \[IP:\]HOST:CONTAINER/);
    expect(() => parsePublish('80:0')).toThrow(/port 0 is not in 1-65535/);
    expect(() => parsePublish('localhost:80:80')).toThrow(/localhost is not an IP address/);
    expect(() => parsePublish('80/icmp')).toThrow(/unknown protocol/);
    for (const bad of ['', '1:2:3:4', 'http', '8080:']) expect(() => parsePublish(bad), bad).toThrow(InvalidValue);
  });

  it('reads volumes: host paths made absolute, volume names kept, ro or rw', () => {
    expect(parseVolume('/root/volume:/containerVolume')).toEqual({ source: '/root/volume', target: '/containerVolume', readOnly: false });
    expect(parseVolume('/srv:/data:ro')).toEqual({ source: '/srv', target: '/data', readOnly: true });
    expect(parseVolume('./here:/data:rw', '/home/me')).toEqual({ source: '/home/me/here', target: '/data', readOnly: false });
    expect(parseVolume('cache:/var/cache')).toEqual({ source: 'cache', target: '/var/cache', readOnly: false });
    expect(() => parseVolume('/srv:data')).toThrow(/data is not an absolute path in the container/);
    expect(() => parseVolume('/srv:/data:rx')).toThrow(/mode rx is neither ro nor rw/);
    expect(() => parseVolume('/srv')).toThrow(/use SRC:DST\[:ro\]/);
    expect(() => parseVolume('my vol:/data')).toThrow(/is neither a host path nor a volume name/);
  });

  it('reads environment settings, with KEY alone meaning "pass on mine"', () => {
    expect(parseEnvSetting('A=b=c')).toEqual({ key: 'A', value: 'b=c' });
    expect(parseEnvSetting('EMPTY=')).toEqual({ key: 'EMPTY', value: '' });
    expect(parseEnvSetting('HOME')).toEqual({ key: 'HOME' });
    expect(() => parseEnvSetting('=x')).toThrow(/use KEY=VALUE/);
  });

  it('reads subnets, taking a host address as the gateway as the seed writes it', () => {
    expect(parseSubnet('192.168.10.0/24')).toEqual({ subnet: '192.168.10.0/24' });
    expect(parseSubnet('192.168.10.1/24')).toEqual({ subnet: '192.168.10.0/24', gateway: '192.168.10.1' });
    expect(parseSubnet('10.1.2.3/8')).toEqual({ subnet: '10.0.0.0/8', gateway: '10.1.2.3' });
    expect(parseSubnet('172.16.5.200/26')).toEqual({ subnet: '172.16.5.192/26', gateway: '172.16.5.200' });
    for (const bad of ['192.168.10.0', '192.168.10.0/33', '192.168.10.0/0', '300.1.1.1/24', 'fd00::/64', '10.0.0.0/8/1'])
      expect(() => parseSubnet(bad), bad).toThrow(InvalidValue);
  });

  it('reads image references and whole numbers', () => {
    expect(parseImageReference('moby-make/mine:v1')).toEqual({ repo: 'moby-make/mine', tag: 'v1' });
    expect(parseImageReference('localhost:5000/mine')).toEqual({ repo: 'localhost:5000/mine' });
    expect(parseImageReference('mine')).toEqual({ repo: 'mine' });
    expect(() => parseImageReference('Mine')).toThrow(InvalidValue);
    expect(() => parseImageReference('mine:bad tag')).toThrow(InvalidValue);
    expect(parseNonNegativeInteger('256')).toBe(256);
    for (const bad of ['-1', '1.5', 'ten', '']) expect(() => parseNonNegativeInteger(bad), bad).toThrow(InvalidValue);
  });
});
