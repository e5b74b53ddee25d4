import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';

import { Public } from '../auth/auth.decorators';

/**
 * Prometheus scrape endpoint. It is public so a scraper needs no token; it
 * exposes counters only, but operators should still keep it off the internet.
 */
@ApiExcludeController()
@Public()
@Controller()
export class MetricsController extends PrometheusController {
  @Get()
  override index(@Res({ passthrough: true }) response: unknown) {
    return super.index(response);
  }
}
